from odoo import api, fields, models

from ..access import check_caller, skips_marketplace_sync
from ..cartona import statuses

# What the delivery shows of its Cartona order, read through the order (whose
# write refuses them to anyone but the connector). The OTP is the user's.
CONNECTOR_FIELDS = {"marketplace_order_number", "marketplace_status", "cartona_otp_required"}


class StockPicking(models.Model):
    _inherit = "stock.picking"

    marketplace_order_number = fields.Char(related="sale_id.marketplace_order_number", string="Cartona Order")
    marketplace_status = fields.Selection(related="sale_id.marketplace_status", string="Cartona Status")
    cartona_otp_required = fields.Boolean(related="sale_id.cartona_otp_required", string="OTP Required")
    retailer_otp = fields.Char(
        "Retailer OTP",
        compute="_compute_retailer_otp",
        inverse="_inverse_retailer_otp",
        # Read as the connector, so the field itself keeps it from those who
        # merely read the delivery (sale_stock shows it to portal followers).
        groups="stock.group_stock_user",
        help="The code the retailer gives at delivery: Cartona needs it to mark the order delivered.",
    )

    @api.depends("sale_id.retailer_otp")
    def _compute_retailer_otp(self):
        # Read as the connector: whoever delivers may not read the order (decisions.md section 8).
        for picking in self:
            picking.retailer_otp = picking.sudo().sale_id.retailer_otp

    def _inverse_retailer_otp(self):
        # Who may write the delivery enters the code the retailer gave them,
        # on an order they may not write; nothing else of the order.
        check_caller(self, "write")
        for picking in self:
            order = picking.sudo().sale_id
            if order.is_marketplace_order and not (
                order.marketplace_status == "delivered" or statuses.is_cancelled(order.marketplace_status)
            ):
                order.retailer_otp = picking.retailer_otp

    def button_validate(self):
        check_caller(self, "write")
        self.sale_id._check_not_editing(self.env._("deliver"))
        return super().button_validate()

    def _action_done(self):
        result = super()._action_done()
        self._marketplace_deliveries_moved()
        self.env["marketplace.returns"]._on_received(self)
        return result

    def _marketplace_deliveries_moved(self):
        """Pickings validated or cancelled, by whatever door (the button, Odoo's
        backorder wizard, a backorder cancelled later, a return, the import's
        own validation): Cartona hears where the order's deliveries are, and
        deliveries that are over close its to-do and invoice it."""
        for order in self.sale_id.sudo().filtered(lambda o: o.is_marketplace_order and o.state != "cancel"):
            if order._marketplace_all_delivered():
                config = order.marketplace_config_id
                config._resolve_alert(
                    config._delivery_alert_summary(),
                    self.env._("The deliveries of %s are validated.", order.name),
                    record=order,
                )
        if not skips_marketplace_sync(self.env):
            self._marketplace_push_shipping()
        # The import's own deliveries too (Cartona's "delivered"): invoicing is no echo.
        self.env["marketplace.invoicing"]._invoice_delivered(self.sale_id)

    def _marketplace_push_shipping(self):
        """The order's deliveries over: delivered. The step just before the
        delivery (the pack, or the pick of a two-step route), or part of the
        delivery, validated: out for delivery. A cancelled picking that leaves
        the deliveries unfinished tells Cartona nothing."""
        shipping = self.filtered(
            lambda p: (
                p.picking_type_code == "outgoing"
                or "outgoing" in p.move_ids.move_dest_ids.picking_id.mapped("picking_type_code")
            )
        )
        # Read as the connector: the warehouse user may not read the order.
        for order in shipping.sale_id.sudo().filtered("is_marketplace_order"):
            if order._marketplace_all_delivered():
                order._marketplace_queue_status("delivered")
            elif "done" in shipping.filtered(lambda p, order=order: p.sale_id == order).mapped("state"):
                order._marketplace_queue_status("assigned_to_salesman")
