from odoo import api, fields, models

# What Cartona has of the line: a user who writes them would hide an edit from
# Cartona, or make the connector send one Cartona never asked for.
CONNECTOR_FIELDS = {
    "cartona_line_id",
    "cartona_unit",
    "cartona_unit_count",
    "cartona_comment",
    "cartona_supplier_discount",
    "cartona_discount",
    "cartona_imported",
    "cartona_amount",
}


class SaleOrderLine(models.Model):
    _name = "sale.order.line"
    _inherit = ["sale.order.line", "marketplace.connector.fields"]
    _cartona_connector_fields = CONNECTOR_FIELDS

    # What Cartona said of the line, kept for people to read.
    cartona_line_id = fields.Char("Cartona Line ID", copy=False, index="btree_not_null")
    cartona_unit = fields.Char(copy=False)
    cartona_unit_count = fields.Float("Pieces per Cartona Unit", copy=False)
    cartona_comment = fields.Text("Retailer Comment", copy=False)
    cartona_supplier_discount = fields.Float("Supplier Discount (per piece)", copy=False)
    cartona_discount = fields.Float("Cartona Discount (per piece)", copy=False)
    cartona_imported = fields.Boolean(
        "Imported from Cartona",
        copy=False,
        readonly=True,
        help="Its price is Cartona's, what the retailer pays: the pricelist never re-prices it.",
    )
    # The line's amount as Cartona has it (imported, or an edit it accepted):
    # a quantity that differs is an edit still to send.
    cartona_amount = fields.Float("Amount on Cartona", copy=False, readonly=True)

    # A user's change of a Cartona order's lines goes to Cartona
    # (models/marketplace_order_edit.py).
    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        self.env["marketplace.order.edit"]._after_change(lines)
        return lines

    def write(self, vals):
        edits = self.env["marketplace.order.edit"]
        edits._before_write(self, vals)
        result = super().write(vals)
        edits._after_change(self, vals)
        return result

    def unlink(self):
        edits = self.env["marketplace.order.edit"]
        removed = edits._before_unlink(self)
        result = super().unlink()
        edits._after_unlink(removed)
        return result

    # Odoo re-prices a line from the pricelist when its quantity, unit or
    # product changes, and "Update prices" forces it: not an imported line.
    def _compute_price_unit(self):
        return super(SaleOrderLine, self.filtered(lambda line: not line.cartona_imported))._compute_price_unit()

    def _compute_discount(self):
        return super(SaleOrderLine, self.filtered(lambda line: not line.cartona_imported))._compute_discount()

    def _compute_qty_to_invoice(self):
        result = super()._compute_qty_to_invoice()
        # Cartona orders: what was delivered, once the deliveries are over.
        lines = self.filtered(
            lambda line: line.state == "sale" and not line.display_type and line.order_id.is_marketplace_order
        )
        self.env["marketplace.invoicing"]._set_qty_to_invoice(lines)
        return result
