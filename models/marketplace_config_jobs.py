from odoo import models


class MarketplaceConfig(models.Model):
    """The connector's jobs that work for a whole configuration, queued on it
    (``config.with_delay()``): queue_job's related action opens it, and
    ``queue.job`` finds it in the job's records. Each job hands over to the
    room that does the work, with the configuration passed."""

    _inherit = "marketplace.config"

    def _acknowledge_orders(self, hashed_ids, read=None, queued_at=None):
        """Job: tell Cartona these orders are safely in Odoo."""
        return self.env["marketplace.order.pull"]._acknowledge(self, hashed_ids, read, queued_at)

    def _publish_internal_refs(self, product_ids):
        """Job: Cartona's internal product IDs become the products' internal references."""
        return self.env["marketplace.product.sync"]._publish_internal_refs(self, product_ids)

    def _publish_pending(self):
        """Job: the next chunk of this configuration's pending product publications goes to Cartona."""
        return self.env["marketplace.product.sync"]._publish_pending(self)
