from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ProductProduct(models.Model):
    _inherit = "product.product"

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
