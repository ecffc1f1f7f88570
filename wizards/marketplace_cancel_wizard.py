from odoo import fields, models

from .. import const
from ..access import check_caller


class MarketplaceCancelWizard(models.TransientModel):
    _name = "marketplace.cancel.wizard"
    _description = "Cartona Cancellation Reason"

    order_ids = fields.Many2many("sale.order", required=True)
    reason = fields.Selection(const.CANCELLATION_REASONS, required=True)

    def action_cancel_orders(self):
        check_caller(self, "write")
        self.ensure_one()
        check_caller(self.order_ids, "write")
        self.order_ids.write({"cartona_cancellation_reason": self.reason})
        return self.order_ids.action_cancel()
