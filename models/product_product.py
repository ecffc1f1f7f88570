from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_round

from .. import const
from ..access import USER_GROUP, check_caller
from ..transaction import collect_at_commit

# Key of the products to republish, collected for the commit.
COLLECTED_KEY = "cartona_marketplace.products_to_sync"
# Key of the Cartona IDs that may no longer be for sale, collected for the commit.
WITHDRAW_KEY = "cartona_marketplace.ids_to_withdraw"
# Writes that change what Cartona should show for the product, price and stock alike.
REPUBLISH_FIELDS = {
    "active",
    "cartona_id",
    "cartona_uom_id",
    "marketplace_sync_enabled",
    "marketplace_stock_sync_enabled",
}
# Writes after which Cartona may sell under an ID that no product of Odoo sells.
WITHDRAW_FIELDS = {"active", "cartona_id", "marketplace_sync_enabled"}
# What Cartona was last told of the product: a user who writes them would make
# the connector skip a publication. The mapping fields stay the users'.
CONNECTOR_FIELDS = {
    "marketplace_sync_status",
    "marketplace_sync_date",
    "marketplace_error_message",
    "marketplace_published_price",
    "marketplace_published_qty",
    "cartona_mapping_date",
    "marketplace_published_unlimited",
}
# The keys Cartona's orders name a product by.
MAPPING_FIELDS = ("cartona_id", "cartona_internal_id")


class ProductProduct(models.Model):
    _name = "product.product"
    _inherit = ["product.product", "marketplace.connector.fields"]
    _cartona_connector_fields = CONNECTOR_FIELDS

    # One Cartona product is one sellable variant: the keys live here.
    cartona_id = fields.Char(
        "Cartona Supplier Product ID",
        copy=False,
        index="btree_not_null",
        help="Cartona's supplier_product_id for this variant.",
    )
    cartona_internal_id = fields.Char(
        "Cartona Internal Product ID",
        copy=False,
        index="btree_not_null",
        help='Cartona\'s internal_product_id for this variant (e.g. "904#2").',
    )
    cartona_uom_id = fields.Many2one(
        "uom.uom",
        "Cartona Unit",
        compute="_compute_cartona_uom_id",
        store=True,
        readonly=False,
        help="The unit of measure that equals one unit as Cartona sells it (e.g. a box of 12). "
        "Quantities and prices exchanged with Cartona are in this unit.",
    )
    delivered_by = fields.Selection(const.DELIVERED_BY, copy=False)
    marketplace_sync_enabled = fields.Boolean(
        "Publish to Cartona", default=True, help="Push this product's price and stock to Cartona."
    )
    marketplace_stock_sync_enabled = fields.Boolean(
        "Publish Stock", default=True, help="Push this product's free quantity to Cartona."
    )
    marketplace_sync_status = fields.Selection(
        const.SYNC_STATUSES, "Cartona Sync", default="not_synced", copy=False, readonly=True, index=True
    )
    marketplace_sync_date = fields.Datetime("Last Cartona Sync", copy=False, readonly=True)
    marketplace_error_message = fields.Text("Cartona Sync Error", copy=False, readonly=True)
    # What Cartona was last told, in the Cartona unit: an unchanged value is not sent again.
    marketplace_published_price = fields.Float("Published Price", digits="Product Price", copy=False, readonly=True)
    marketplace_published_qty = fields.Integer("Published Quantity", copy=False, readonly=True)
    # Waiting orders are tried again when a mapping changed since, not at
    # every write (stock publishing writes mapped products all day).
    cartona_mapping_date = fields.Datetime("Cartona Mapping Changed", copy=False, readonly=True, index="btree_not_null")
    marketplace_published_unlimited = fields.Boolean("Published as Unlimited Stock", copy=False, readonly=True)

    _sql_constraints = [
        ("cartona_id_unique", "UNIQUE(cartona_id)", "Another product already has this Cartona ID."),
        (
            "cartona_internal_id_unique",
            "UNIQUE(cartona_internal_id)",
            "Another product already has this Cartona internal ID.",
        ),
    ]

    @api.depends("uom_id")
    def _compute_cartona_uom_id(self):
        for product in self:
            if not product.cartona_uom_id or product.cartona_uom_id.category_id != product.uom_id.category_id:
                product.cartona_uom_id = product.uom_id

    @api.constrains("cartona_uom_id", "uom_id")
    def _check_cartona_uom_id(self):
        for product in self:
            if product.cartona_uom_id and product.cartona_uom_id.category_id != product.uom_id.category_id:
                raise ValidationError(
                    self.env._(
                        "The Cartona unit of %(product)s must be in the category of its unit (%(category)s).",
                        product=product.display_name,
                        category=product.uom_id.category_id.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        products = super().create(vals_list)
        mapped = products.filtered(lambda p: any(p[key] for key in MAPPING_FIELDS))
        if mapped:
            # The connector's bookkeeping, whoever maps the product.
            mapped.sudo().write({"cartona_mapping_date": fields.Datetime.now()})
        products.filtered("cartona_id")._trigger_marketplace_sync(const.SYNC_PARTS)
        return products

    def write(self, vals):
        remapped = self.browse()
        if "cartona_id" in vals:
            remapped = self.filtered(lambda p: p.cartona_id != (vals["cartona_id"] or False))
        mapping_changed = self._cartona_mapping_changes(vals)
        sold = self._marketplace_sold_ids() if WITHDRAW_FIELDS & vals.keys() else {}
        result = super().write(vals)
        if mapping_changed:
            super(ProductProduct, mapping_changed.sudo()).write({"cartona_mapping_date": fields.Datetime.now()})
        if sold:
            self._marketplace_withdraw_unsold(sold)
        if remapped:
            # Cartona knows nothing yet of this product: everything goes out.
            super(ProductProduct, remapped.sudo()).write(
                {"marketplace_sync_status": "not_synced", "marketplace_error_message": False}
            )
        if REPUBLISH_FIELDS & vals.keys():
            self._trigger_marketplace_sync(const.SYNC_PARTS)
        return result

    def _cartona_mapping_changes(self, vals):
        """The products whose mapping ``vals`` change: a Cartona key set or
        changed, or a mapped product unarchived."""
        if not (vals.keys() & set(MAPPING_FIELDS) or vals.get("active")):
            return self.browse()

        def changes(product):
            if any(key in vals and product[key] != (vals[key] or False) for key in MAPPING_FIELDS):
                return True
            return vals.get("active") and not product.active and any(product[key] for key in MAPPING_FIELDS)

        return self.filtered(changes)

    def unlink(self):
        sold = self._marketplace_sold_ids()
        result = super().unlink()
        self.env["product.product"]._marketplace_withdraw_later(sold)
        return result

    # Collecting what changed ------------------------------------------------

    def _trigger_marketplace_sync(self, parts):
        """Republish ``parts`` of these products when the transaction commits
        (``marketplace.publication``): costs no query here."""
        if not self:
            return
        collected = collect_at_commit(
            self.env,
            COLLECTED_KEY,
            lambda: {part: set() for part in const.SYNC_PARTS},
            self.env["marketplace.publication"]._add_collected,
        )
        for part in parts:
            collected[part].update(self.ids)

    def _marketplace_sold_ids(self):
        """``{product id: Cartona ID}`` of these products that Cartona sells:
        active, mapped and published."""
        return {p.id: p.cartona_id for p in self if p.active and p.cartona_id and p.marketplace_sync_enabled}

    def _marketplace_withdraw_unsold(self, sold):
        """The products of ``sold`` (as it was before a write) that are no longer
        sold under their ID have it withdrawn, and Cartona gets every figure
        again when they come back."""
        now = self.browse(sold)._marketplace_sold_ids()
        unsold = {pid: cartona_id for pid, cartona_id in sold.items() if now.get(pid) != cartona_id}
        if unsold:
            self.browse(unsold).sudo().write({"marketplace_sync_status": "not_synced"})
            self._marketplace_withdraw_later(unsold)

    @api.model
    def _marketplace_withdraw_later(self, sold):
        """Withdraw the Cartona IDs of ``sold`` ({product id: Cartona ID}) when
        the transaction commits, unless a product sells them again by then
        (an ID moved to another product, a product re-activated)."""
        if not sold:
            return
        pending = collect_at_commit(
            self.env, WITHDRAW_KEY, dict, self.env["marketplace.publication"]._withdraw_collected
        )
        for pid, cartona_id in sold.items():
            pending.setdefault(cartona_id, pid)

    @api.model
    def _marketplace_selling(self, cartona_ids):
        """The products that sell these Cartona IDs now, whoever asks."""
        return (
            self.sudo()
            .with_context(active_test=True)
            .search([("cartona_id", "in", cartona_ids), ("marketplace_sync_enabled", "=", True)])
        )

    def _marketplace_set_error_detached(self, message):
        """Record a failed sync so that it survives the failing job's rollback."""
        self.env["marketplace.sync.log"]._write_detached(
            self, {"marketplace_sync_status": "error", "marketplace_error_message": message}
        )

    def _marketplace_figures(self, config):
        """``{product id: (price, quantity)}`` in each product's Cartona unit.

        The quantity is what can really be sold: free quantity (on hand minus
        reserved) in the config's warehouse, rounded down, never negative.
        """
        warehouse = config._get_stock_warehouse()
        products = self.with_context(warehouse_id=warehouse.id) if warehouse else self
        currency = config.company_id.currency_id
        figures = {}
        for product in products:
            unit = product.cartona_uom_id or product.uom_id
            price = currency.round(product.uom_id._compute_price(product.lst_price, unit))
            qty = product.uom_id._compute_quantity(product.free_qty, unit, round=False)
            qty = max(0, int(float_round(qty, precision_rounding=1.0, rounding_method="DOWN")))
            figures[product.id] = (price, qty)
        return figures

    # Entry points ---------------------------------------------------------------

    def action_marketplace_sync_now(self):
        check_caller(self, "write", USER_GROUP)
        products = self.filtered(lambda p: p.cartona_id and p.marketplace_sync_enabled)
        if not products:
            raise UserError(self.env._("Only products with a Cartona ID and publishing enabled can be synced."))
        for config in self.env["marketplace.config"].sudo().search([("active", "=", True)]):
            self.env["marketplace.publication"]._add(config, products, const.SYNC_PARTS, force=True)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Sync queued"),
                "message": self.env._(
                    "The price and stock of %s product(s) will be published to Cartona.", len(products)
                ),
                "type": "success",
            },
        }

    @api.model
    def _cron_sync_product_data(self):
        """Every 30 minutes: products not synced or in error; once a day, all of them.

        Never raises: Odoo deactivates a cron that keeps failing.
        """
        for config in self.env["marketplace.config"].search([("active", "=", True)]):
            try:
                with self.env.cr.savepoint():
                    self._marketplace_cron_config(config)
            except Exception as exc:  # any failure is logged; the next config goes on
                self.env["marketplace.sync.log"]._log_operation(
                    config.id, "product_sync", "error", self.env._("Product sync cron failed: %s", exc)
                )

    @api.model
    def _marketplace_cron_config(self, config):
        publications = self.env["marketplace.publication"]
        parts = publications._parts_of(config)
        if parts:
            self._marketplace_cron_publish(config, parts)
        # Rows no drain is waiting for: committed by a transaction that saw a
        # drain waiting (its identity key), which had read its rows by then.
        publications._queue_drains(config)

    @api.model
    def _marketplace_cron_publish(self, config, parts):
        now = fields.Datetime.now()
        # Written by this cron alone: the configuration row is the users'.
        state = self.env["marketplace.sync.state"]._of(config, "product_sync")
        reconcile = not state.last_reconciliation_date or (now - state.last_reconciliation_date).days >= 1
        domain = [("cartona_id", "!=", False), ("marketplace_sync_enabled", "=", True)]
        if not reconcile:
            domain.append(("marketplace_sync_status", "in", ("not_synced", "error")))
        count = self.env["marketplace.publication"]._add(config, self.search(domain), parts, force=reconcile)
        if reconcile:
            state.last_reconciliation_date = now
        if count:
            self.env["marketplace.sync.log"]._log_operation(
                config.id,
                "product_sync",
                "info",
                self.env._("Daily reconciliation: %s products queued", count)
                if reconcile
                else self.env._("%s products not synced or in error queued", count),
            )
