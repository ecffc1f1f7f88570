from odoo import api, fields, models

from .. import const
from ..access import USER_GROUP, check_caller

# The design's template fields: on a single-variant template they read and
# write the variant's values, the way Odoo's ``default_code`` does.
VARIANT_FIELDS = (
    "cartona_id",
    "cartona_internal_id",
    "cartona_uom_id",
    "delivered_by",
    "marketplace_sync_enabled",
    "marketplace_stock_sync_enabled",
    "marketplace_sync_status",
    "marketplace_sync_date",
    "marketplace_error_message",
)
WRITABLE_VARIANT_FIELDS = (
    "cartona_id",
    "cartona_internal_id",
    "cartona_uom_id",
    "delivered_by",
    "marketplace_sync_enabled",
    "marketplace_stock_sync_enabled",
)


def _search_variant(name):
    def search(self, operator, value):
        return [("product_variant_ids." + name, operator, value)]

    return search


class ProductTemplate(models.Model):
    _inherit = "product.template"

    cartona_id = fields.Char(
        "Cartona Supplier Product ID",
        compute="_compute_variant_marketplace_fields",
        inverse="_inverse_variant_marketplace_fields",
        search=_search_variant("cartona_id"),
        help="Cartona's supplier_product_id of the product (single-variant products only).",
    )
    cartona_internal_id = fields.Char(
        "Cartona Internal Product ID",
        compute="_compute_variant_marketplace_fields",
        inverse="_inverse_variant_marketplace_fields",
        search=_search_variant("cartona_internal_id"),
        help="Cartona's internal_product_id of the product (single-variant products only).",
    )
    cartona_uom_id = fields.Many2one(
        "uom.uom",
        "Cartona Unit",
        compute="_compute_variant_marketplace_fields",
        inverse="_inverse_variant_marketplace_fields",
        search=_search_variant("cartona_uom_id"),
        help="The unit of measure that equals one unit as Cartona sells it (e.g. a box of 12).",
    )
    delivered_by = fields.Selection(
        const.DELIVERED_BY,
        compute="_compute_variant_marketplace_fields",
        inverse="_inverse_variant_marketplace_fields",
        search=_search_variant("delivered_by"),
    )
    marketplace_sync_enabled = fields.Boolean(
        "Publish to Cartona",
        compute="_compute_variant_marketplace_fields",
        inverse="_inverse_variant_marketplace_fields",
        search=_search_variant("marketplace_sync_enabled"),
    )
    marketplace_stock_sync_enabled = fields.Boolean(
        "Publish Stock",
        compute="_compute_variant_marketplace_fields",
        inverse="_inverse_variant_marketplace_fields",
        search=_search_variant("marketplace_stock_sync_enabled"),
    )
    marketplace_sync_status = fields.Selection(
        const.SYNC_STATUSES,
        "Cartona Sync",
        compute="_compute_variant_marketplace_fields",
        search=_search_variant("marketplace_sync_status"),
    )
    marketplace_sync_date = fields.Datetime(
        "Last Cartona Sync",
        compute="_compute_variant_marketplace_fields",
        search=_search_variant("marketplace_sync_date"),
    )
    marketplace_error_message = fields.Text(
        "Cartona Sync Error",
        compute="_compute_variant_marketplace_fields",
        search=_search_variant("marketplace_error_message"),
    )

    @api.depends(*(f"product_variant_ids.{name}" for name in VARIANT_FIELDS))
    def _compute_variant_marketplace_fields(self):
        for template in self:
            variant = template.product_variant_ids if len(template.product_variant_ids) == 1 else None
            for name in VARIANT_FIELDS:
                template[name] = variant[name] if variant else False

    def _inverse_variant_marketplace_fields(self):
        for template in self:
            if len(template.product_variant_ids) != 1:
                continue
            variant = template.product_variant_ids
            vals = {name: template[name] for name in WRITABLE_VARIANT_FIELDS if template[name] != variant[name]}
            if vals:
                variant.write(vals)

    def _get_related_fields_variant_template(self):
        # Values given at creation reach the variant created with the template.
        return super()._get_related_fields_variant_template() + list(WRITABLE_VARIANT_FIELDS)

    def write(self, vals):
        result = super().write(vals)
        if "list_price" in vals or "uom_id" in vals:
            self.product_variant_ids._trigger_marketplace_sync(
                const.SYNC_PARTS if "uom_id" in vals else [const.SYNC_PART_PRICE]
            )
        if "is_storable" in vals or "type" in vals:
            # Stock Odoo tracks is published as a quantity, other goods as unlimited.
            self.product_variant_ids._trigger_marketplace_sync([const.SYNC_PART_STOCK])
        return result

    def action_marketplace_sync_now(self):
        check_caller(self, "write", USER_GROUP)
        return self.product_variant_ids.action_marketplace_sync_now()
