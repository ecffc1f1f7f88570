from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from .. import const


class MarketplaceOrderStatus(models.AbstractModel):
    """What a Cartona status does to its Odoo orders (decisions.md section 4,
    the configuration's state mapping): confirm and reserve, deliver, cancel,
    or a to-do for a person."""

    _name = "marketplace.order.status"
    _description = "Marketplace Order Status Actions"

    @api.model
    def _apply(self, config, sales, status):
        """Bring the Odoo orders where Cartona's status says (decisions.md section 4)."""
        action = config._get_state_mapping().get(status, "none")
        sales = sales.with_context(skip_marketplace_sync=True).filtered(lambda sale: sale.state != "cancel")
        if action == "none" or not sales:
            return
        if action == "cancel":
            for sale in sales:
                self._cancel(sale, status)
        elif action == "draft":
            # A return is handled with its money (models/marketplace_returns.py).
            for sale in sales.filtered(lambda sale: sale.state == "sale" and status not in const.RETURNED_STATUSES):
                config._schedule_activity(
                    sale,
                    f"Cartona: order {status}",
                    f"Cartona marked {sale.name} as {status}. Handle the return by hand.",
                    sale=sale,
                )
        else:
            sales.filtered(lambda sale: sale.state in ("draft", "sent")).action_confirm()
            for sale in sales:  # what is left to reserve, order by order as they came
                self._reserve(sale)
            if action == "done":
                for sale in sales:
                    self._complete_delivery(sale)

    @api.model
    def _outgoing_pickings(self, sales):
        return sales.picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))

    @api.model
    def _reserve(self, sales):
        pickings = self._outgoing_pickings(sales).filtered(lambda p: p.state in ("confirmed", "waiting"))
        if pickings:
            pickings.action_assign()

    @api.model
    def _cancel(self, sale, status):
        if sale.picking_ids.filtered(lambda p: p.state == "done" and p.picking_type_code == "outgoing"):
            message = f"Cartona cancelled {sale.name} ({status}) but goods were already delivered: nothing undone."
            config = sale.marketplace_config_id
            config._schedule_activity(sale, "Cartona cancelled a delivered order", message, sale=sale)
            self.env["marketplace.order.processor"]._log(config, "warning", message, sale)
            return
        sale._action_cancel()

    @api.model
    def _complete_delivery(self, sale):
        """Validate every open picking of the order with its full quantity,
        upstream steps first. A picking that cannot be validated (lots missing)
        stays open with an activity saying why."""
        pending = self._outgoing_pickings(sale)
        while pending:
            ready = pending.filtered(lambda p: all(m.state in ("done", "cancel") for m in p.move_ids.move_orig_ids))
            if not ready:
                break
            for picking in ready:
                self._validate_picking(sale, picking)
            still = self._outgoing_pickings(sale)
            if still == pending:
                break
            pending = still

    @api.model
    def _validate_picking(self, sale, picking):
        try:
            with self.env.cr.savepoint():
                for move in picking.move_ids.filtered(lambda m: m.state not in ("done", "cancel")):
                    if float_compare(move.quantity, move.product_uom_qty, precision_rounding=move.product_uom.rounding):
                        move.quantity = move.product_uom_qty
                    move.picked = True
                result = picking.with_context(
                    skip_backorder=True, skip_sms=True, cancel_backorder=True
                ).button_validate()
                if picking.state != "done":
                    raise UserError(
                        self.env._(
                            "Odoo asks for more information: %s",
                            result.get("name") if isinstance(result, dict) else result,
                        )
                    )
        except UserError as exc:
            message = f"Delivery {picking.name} of {sale.name} could not be validated: {exc}"
            config = sale.marketplace_config_id
            config._raise_alert(config._delivery_alert_summary(), message, record=sale, sale=sale)
            self.env["marketplace.order.processor"]._log(config, "warning", message, sale)
