"""What Cartona is still to be told of products, as rows of a queue.

A change of price, stock or mapping is collected on its transaction and,
when it commits, becomes rows here: a product whose parts to publish, or a
Cartona ID to withdraw. One drain job per configuration
(``marketplace.config._publish_pending``, with an identity key) takes the
oldest rows, sends them and deletes them. Rows are only ever inserted and
deleted: a transaction adds its own and touches no job already queued.
"""

import logging
from dataclasses import dataclass, field
from functools import partial

from odoo import SUPERUSER_ID, api, fields, models
from odoo.tools import SQL

from .. import const

_logger = logging.getLogger(__name__)
# The configurations whose drains are looked at again once the transaction commits.
LOOK_AGAIN_KEY = "cartona_marketplace.publication_drains"


@dataclass
class Chunk:
    """One request's worth of pending rows: products to publish (``parts``,
    ``force``) or Cartona IDs to withdraw, and the rows it stands for."""

    row_ids: list = field(default_factory=list)
    product_ids: list = field(default_factory=list)
    cartona_ids: list = field(default_factory=list)
    parts: tuple = ()
    force: bool = False


class MarketplacePublication(models.Model):
    _name = "marketplace.publication"
    _description = "Pending Cartona Publication"
    _order = "id"
    # Inserted and deleted by the connector, never written.
    _log_access = False

    marketplace_config_id = fields.Many2one(
        "marketplace.config", required=True, ondelete="cascade", index=True, readonly=True
    )
    product_id = fields.Many2one("product.product", ondelete="cascade", readonly=True)
    cartona_id = fields.Char("Cartona ID to Withdraw", readonly=True)
    # The parts to publish (const.SYNC_PARTS), by name.
    price = fields.Boolean(readonly=True)
    stock = fields.Boolean(readonly=True)
    force = fields.Boolean(readonly=True, help="Sent even if Cartona has it already.")

    _sql_constraints = [
        (
            "product_or_withdrawal",
            "CHECK((product_id IS NULL) != (cartona_id IS NULL))",
            "A pending publication is a product to publish or a Cartona ID to withdraw.",
        ),
    ]

    # Adding rows ------------------------------------------------------------

    @api.model
    def _parts_of(self, config):
        """The parts ``config`` publishes by itself (Sync now publishes both)."""
        wanted = {const.SYNC_PART_PRICE: config.auto_sync_prices, const.SYNC_PART_STOCK: config.auto_sync_stock}
        return tuple(part for part in const.SYNC_PARTS if wanted[part])

    @api.model
    def _add(self, config, products, parts, force=False):
        """Publish ``parts`` of ``products`` (those of ``config``'s company) to
        ``config``; returns how many products were queued."""
        ids = [p.id for p in products if not p.company_id or p.company_id == config.company_id]
        self._insert([(config, pid, None, parts, force) for pid in ids])
        return len(ids)

    @api.model
    def _add_collected(self, collected):
        """At commit: ``collected`` ({part: product ids}) of the products
        Cartona sells, for each active configuration that publishes the part."""
        products = (
            self.env["product.product"]
            .sudo()
            .with_context(active_test=True)
            .search(
                [
                    ("id", "in", list(set().union(*collected.values()))),
                    ("cartona_id", "!=", False),
                    ("marketplace_sync_enabled", "=", True),
                ]
            )
        )
        if not products:
            return
        configs = self.env["marketplace.config"].sudo().search([("active", "=", True)])
        # The last published figures are kept per product, not per marketplace:
        # with several marketplaces (supplier accounts), each gets every figure.
        force = len(configs) > 1
        rows = []
        for config in configs:
            wanted = self._parts_of(config)
            for product in products:
                if product.company_id and product.company_id != config.company_id:
                    continue
                parts = tuple(part for part in wanted if product.id in collected[part])
                if parts:
                    rows.append((config, product.id, None, parts, force))
        self._insert(rows)

    @api.model
    def _withdraw_collected(self, pending):
        """At commit: withdraw the Cartona IDs of ``pending`` ({Cartona ID:
        product id}) that no product sells any more, from each active
        configuration of the product's company."""
        sold_again = set(self.env["product.product"]._marketplace_selling(list(pending)).mapped("cartona_id"))
        pending = {cartona_id: pid for cartona_id, pid in pending.items() if cartona_id not in sold_again}
        if not pending:
            return
        products = self.env["product.product"].sudo().with_context(active_test=False).browse(pending.values())
        companies = {product.id: product.company_id for product in products.exists()}
        self._insert(
            [
                (config, None, cartona_id, (const.SYNC_PART_STOCK,), False)
                for config in self.env["marketplace.config"].sudo().search([("active", "=", True)])
                for cartona_id, pid in sorted(pending.items())
                if not companies.get(pid) or companies[pid] == config.company_id
            ]
        )

    @api.model
    def _insert(self, rows):
        """Insert ``rows`` ``(config, product id, Cartona ID, parts, force)`` in
        one statement (a page of orders, or an inventory of thousands), and
        queue the drain of each configuration."""
        if not rows:
            return
        values = [
            (config.id, pid, cartona_id, *(part in parts for part in const.SYNC_PARTS), force)
            for config, pid, cartona_id, parts, force in rows
        ]
        self.env.cr.execute(
            SQL(
                """INSERT INTO marketplace_publication
                       (marketplace_config_id, product_id, cartona_id, price, stock, force)
                   SELECT * FROM unnest(%s::int[], %s::int[], %s::varchar[], %s::bool[], %s::bool[], %s::bool[])""",
                *(list(column) for column in zip(*values, strict=True)),
            )
        )
        for config in sorted({row[0] for row in rows}, key=lambda config: config.id):
            self._queue_drain(config)

    # The drain ----------------------------------------------------------------

    @api.model
    def _queue_drain(self, config, look_again=True):
        """Queue the drain of ``config``, unless one is waiting already: it
        reads the rows when it runs. A drain already running leaves rows
        added after it started to this one.

        The waiting drain is seen as this transaction began: the job runner
        may start it, and it read its rows, before these are committed. So
        once they are (``look_again``), a transaction of its own, which sees
        every drain as it is then, queues one for rows left without a drain
        waiting: a stock change never waits for the next change or the cron."""
        # Queued as the connector: whoever changed a product may not read the configuration.
        config.sudo().with_delay(
            max_retries=config.retry_attempts,
            identity_key=f"cartona-publish-{config.id}",
            description=self.env._("Publish products to %s", config.name),
        )._publish_pending()
        if look_again:
            postcommit = self.env.cr.postcommit
            if LOOK_AGAIN_KEY not in postcommit.data:
                postcommit.data[LOOK_AGAIN_KEY] = set()
                postcommit.add(partial(self._look_again, self.env.registry, postcommit.data[LOOK_AGAIN_KEY]))
            postcommit.data[LOOK_AGAIN_KEY].add(config.id)

    @api.model
    def _look_again(self, registry, config_ids):
        """After the commit: a drain for each of ``config_ids`` that has rows
        and no drain waiting (pending or taken by the runner, not started)."""
        try:
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                env["marketplace.publication"]._queue_drains(
                    env["marketplace.config"].browse(sorted(config_ids)), look_again=False
                )
                env.flush_all()
        except Exception:  # committed already: the 30-minute cron queues what this could not
            _logger.exception("Could not look for Cartona publications left without a drain")

    @api.model
    def _queue_drains(self, configs, look_again=True):
        """Queue the drain of each of ``configs`` that has rows left (from a
        drain, the cron or ``_look_again``: each sees the drains as they are)."""
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT marketplace_config_id FROM marketplace_publication
                    WHERE marketplace_config_id = ANY(%s)""",
                configs.ids,
            )
        )
        for (config_id,) in self.env.cr.fetchall():
            self._queue_drain(configs.browse(config_id), look_again)

    @api.model
    def _next_chunk(self, config):
        """The oldest pending rows of ``config`` that one request sends: the
        first ``batch_size`` products to publish alike, or Cartona IDs to
        withdraw, with every row read of each. Returns a ``Chunk``, or None.

        The rows read are locked, skipping those a drain running beside this
        one holds: two drains never send one row twice. Rows of one product
        are merged (the parts of both, forced if either is).
        """
        size = config.batch_size
        self.env.cr.execute(
            SQL(
                """SELECT id, product_id, cartona_id, price, stock, force FROM marketplace_publication
                    WHERE marketplace_config_id = %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED""",
                config.id,
                size * const.PUBLICATION_ROWS_PER_ITEM,
            )
        )
        merged = {}
        for row_id, product_id, cartona_id, *flags, force in self.env.cr.fetchall():
            entry = merged.setdefault((product_id, cartona_id), {"rows": [], "parts": set(), "force": False})
            entry["rows"].append(row_id)
            entry["parts"].update(part for part, flag in zip(const.SYNC_PARTS, flags, strict=True) if flag)
            entry["force"] = entry["force"] or force

        def kind(key):
            entry = merged[key]
            if key[0] is None:
                return "withdraw"
            return tuple(part for part in const.SYNC_PARTS if part in entry["parts"]), entry["force"]

        if not merged:
            return None
        first = kind(next(iter(merged)))
        keys = [key for key in merged if kind(key) == first][:size]
        chunk = Chunk(row_ids=sorted(row for key in keys for row in merged[key]["rows"]))
        if first == "withdraw":
            chunk.cartona_ids = [cartona_id for _product_id, cartona_id in keys]
        else:
            chunk.product_ids = [product_id for product_id, _cartona_id in keys]
            chunk.parts, chunk.force = first
        return chunk

    @api.model
    def _done(self, config, chunk):
        """``chunk`` was sent: its rows go, and the next drain is queued while rows are left."""
        self.env.cr.execute(SQL("DELETE FROM marketplace_publication WHERE id = ANY(%s)", chunk.row_ids))
        self._queue_drains(config)
