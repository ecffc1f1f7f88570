from odoo import api, models

from .. import const


class StockQuant(models.Model):
    _inherit = "stock.quant"

    @api.model
    def _update_available_quantity(self, product_id, location_id, *args, **kwargs):
        # Every change of what can be sold passes here: moves done (deliveries,
        # receipts, applied inventories) and reservations made or released.
        # ``skip_marketplace_sync`` is not looked at: it stops order status
        # echoes only, and Cartona must see the stock its own orders take.
        product_id._trigger_marketplace_sync([const.SYNC_PART_STOCK])
        return super()._update_available_quantity(product_id, location_id, *args, **kwargs)
