from odoo import fields, models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    # What Cartona said of the line, kept for people to read.
    cartona_line_id = fields.Char("Cartona Line ID", copy=False, index="btree_not_null")
    cartona_unit = fields.Char(copy=False)
    cartona_unit_count = fields.Float("Pieces per Cartona Unit", copy=False)
    cartona_comment = fields.Text("Retailer Comment", copy=False)
    cartona_supplier_discount = fields.Float("Supplier Discount (per piece)", copy=False)
    cartona_discount = fields.Float("Cartona Discount (per piece)", copy=False)
