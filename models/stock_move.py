from odoo import models

from .sale_order import CANCELLING_KEY


class StockMove(models.Model):
    _inherit = "stock.move"

    def _action_cancel(self):
        pickings = self.picking_id
        result = super()._action_cancel()
        # Every door that cancels a picking (its button, a backorder dropped
        # after a partial delivery, a lowered quantity) passes here: a
        # cancelled backorder may be what ends the order's deliveries. Not
        # when the order itself is being cancelled: that is no delivery.
        cancelling = self.env.cr.precommit.data.get(CANCELLING_KEY, ())
        pickings.filtered(
            lambda p: p.state == "cancel" and p.sale_id.id not in cancelling
        )._marketplace_deliveries_moved()
        return result
