from odoo import models

from ..access import check_caller, skips_marketplace_sync


class StockPicking(models.Model):
    _inherit = "stock.picking"

    def button_validate(self):
        check_caller(self, "write")
        self.sale_id._check_not_editing(self.env._("deliver"))
        return super().button_validate()

    def _action_done(self):
        result = super()._action_done()
        if not skips_marketplace_sync(self.env):
            self._marketplace_push_shipping()
        # The import's own deliveries too (Cartona's "delivered"): invoicing is no echo.
        self.env["marketplace.invoicing"]._invoice_delivered(self.sale_id)
        return result

    def _marketplace_push_shipping(self):
        """The last outgoing delivery done: delivered. The step just before the
        delivery (the pack, or the pick of a two-step route), or part of the
        delivery: out for delivery."""
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
            else:
                order._marketplace_queue_status("assigned_to_salesman")
