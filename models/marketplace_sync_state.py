from odoo import api, fields, models


class MarketplaceSyncState(models.Model):
    """What the connector records while it runs, one record per configuration
    and concern, each written by one kind of transaction only: the order pull
    (under its lock) or the product-sync cron.

    Two transactions writing one row make the later one fail under
    PostgreSQL's repeatable read, so none of this lives on the configuration,
    which users edit. Failures (last error, connection status) are not kept
    here either: they are read from the sync log, which is only inserted into.
    """

    _name = "marketplace.sync.state"
    _description = "Marketplace Sync State"
    _rec_name = "concern"

    marketplace_config_id = fields.Many2one("marketplace.config", required=True, ondelete="cascade", readonly=True)
    concern = fields.Selection(
        [("order_pull", "Order pull"), ("product_sync", "Product sync")], required=True, readonly=True
    )
    # Order pull
    last_pull_date = fields.Datetime("Orders Pulled Until")
    pull_next_page = fields.Integer(default=1)
    pull_walk_started = fields.Datetime()
    pull_walk_from = fields.Datetime()
    # The history walk's end (``import_orders_from``); empty for any other walk.
    pull_walk_to = fields.Datetime()
    # The walk's pages acknowledged orders, which shifts the pages after them
    # (a walk under way when the field came may have: hence the default).
    pull_walk_acked = fields.Boolean(default=True)
    total_orders_pulled = fields.Integer()
    last_sync_date = fields.Datetime()
    # Set by the first pull that Cartona answers, unless a manager set it before.
    import_orders_from = fields.Datetime()
    # Product sync
    last_reconciliation_date = fields.Datetime("Last Full Product Sync")

    _sql_constraints = [
        (
            "concern_unique",
            "UNIQUE(marketplace_config_id, concern)",
            "A configuration has one state record per concern.",
        ),
    ]

    @api.model
    def _of(self, config, concern):
        """The state record of ``config`` for ``concern``, created on first use.
        The connector's own bookkeeping: written as superuser."""
        states = self.sudo()
        return states.search([("marketplace_config_id", "=", config.id), ("concern", "=", concern)]) or states.create(
            {"marketplace_config_id": config.id, "concern": concern}
        )
