from datetime import timedelta

from odoo import fields, models
from odoo.exceptions import UserError

from .. import const
from ..access import MANAGER_GROUP, check_caller
from ..exceptions import MarketplaceError


class MarketplaceFetchOrderWizard(models.TransientModel):
    """Fetch one Cartona order (or a date range) now, whatever the pull window
    and the acknowledgements say, and show what became of it."""

    _name = "marketplace.fetch.order.wizard"
    _description = "Fetch Cartona Orders"

    marketplace_config_id = fields.Many2one("marketplace.config", "Marketplace", required=True)
    reference = fields.Char(
        "Cartona Order",
        help="Cartona's order number (receipt) or its id (hashed_id). Without dates, it is looked for among "
        f"the orders changed in the last {const.FETCH_ORDER_DAYS} days.",
    )
    date_from = fields.Datetime("Changed From")
    date_to = fields.Datetime("Changed Until")
    import_live = fields.Boolean(
        "Import Finished Orders as Live",
        help="An order Odoo first sees delivered, returned or cancelled is confirmed, delivered and invoiced "
        "as if Odoo had seen it from the start; without this it is recorded as a quotation that moves "
        "no stock or money.",
    )
    result = fields.Text(readonly=True)
    sale_order_ids = fields.Many2many("sale.order", string="Orders", readonly=True)

    def action_fetch(self):
        check_caller(self, "write")
        self.ensure_one()
        config = self.marketplace_config_id
        check_caller(config, "write", MANAGER_GROUP)
        reference = (self.reference or "").strip() or None
        if not reference and not (self.date_from or self.date_to):
            raise UserError(self.env._("Give a Cartona order number or id, or a date range."))
        last_days = not (self.date_from or self.date_to)
        if last_days:
            # Not every page Cartona has, in this request: the last days, shown in the form.
            self.date_from = fields.Datetime.now() - timedelta(days=const.FETCH_ORDER_DAYS)
        try:
            fetched = self.env["marketplace.order.pull"]._fetch_orders(
                config, reference, self.date_from, self.date_to, live=self.import_live
            )
        except MarketplaceError as exc:
            fetched, error = None, str(exc)
        else:
            error = None if fetched else self.env._("A pull of this marketplace is running: try again in a minute.")
        if error:
            self.write({"result": error, "sale_order_ids": [fields.Command.clear()]})
            return self._reopen()
        stats, found = fetched
        orders = self.env["sale.order"].search(
            [("marketplace_config_id", "=", config.id), ("cartona_id", "in", sorted(found))]
        )
        lines = [self.env["marketplace.order.pull"]._summary(stats)]
        if reference and not found:
            known = self.env["sale.order"].search(
                [
                    ("marketplace_config_id", "=", config.id),
                    "|",
                    ("cartona_id", "=", reference),
                    ("marketplace_order_number", "=", reference),
                ],
                limit=1,
            )
            orders = known
            lines = [
                self.env._(
                    "Cartona did not return order %s: it returns only the orders that changed since they "
                    "were acknowledged.",
                    reference,
                )
            ]
            if last_days:
                lines.append(
                    self.env._(
                        "Only the orders changed in the last %s days were asked for: give dates to look further back.",
                        const.FETCH_ORDER_DAYS,
                    )
                )
            if known:
                lines.append(self.env._("It is imported as %s.", known.name))
        waiting = self.env["marketplace.parked.order"].search(
            [("marketplace_config_id", "=", config.id), ("cartona_id", "in", sorted(found))]
        )
        lines += [waiting_order.reason for waiting_order in waiting]
        self.write(
            {
                "result": "\n".join(line for line in lines if line) or self.env._("Cartona returned no order."),
                "sale_order_ids": [fields.Command.set(orders.ids)],
            }
        )
        return self._reopen()

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Fetch Cartona orders"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }
