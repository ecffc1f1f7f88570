from odoo import fields, models

from ..access import check_caller

CARTONA_MOVE_KINDS = [
    ("invoice", "Invoice"),
    ("cartona_share", "Cartona's part"),
    ("cartona_discount", "Cartona-funded discounts"),
    ("top_up", "Wallet top-up"),
    ("refund", "Credit note"),
    ("cartona_share_reversal", "Cartona's part reversed"),
    ("cartona_discount_reversal", "Cartona-funded discounts reversed"),
    ("top_up_reversal", "Wallet top-up reversed"),
]
# Which order a move books, and as what: a user who writes them would have
# an order invoiced twice, or never.
CONNECTOR_FIELDS = {"cartona_sale_order_id", "cartona_move_kind", "cartona_config_id"}


class AccountMove(models.Model):
    _name = "account.move"
    _inherit = ["account.move", "marketplace.connector.fields"]
    _cartona_connector_fields = CONNECTOR_FIELDS

    cartona_sale_order_id = fields.Many2one(
        "sale.order", "Cartona Order", copy=False, readonly=True, index="btree_not_null", ondelete="restrict"
    )
    cartona_move_kind = fields.Selection(CARTONA_MOVE_KINDS, "Cartona Booking", copy=False, readonly=True)
    cartona_config_id = fields.Many2one(
        related="cartona_sale_order_id.marketplace_config_id", store=True, index="btree_not_null", string="Marketplace"
    )

    _sql_constraints = [
        (
            "cartona_booking_unique",
            "UNIQUE(cartona_sale_order_id, cartona_move_kind)",
            "This Cartona order is already booked.",
        ),
    ]

    def _post(self, soft=True):
        posted = super()._post(soft)
        # A customer invoice of a Cartona order posted, by the connector or by hand:
        # Cartona's part is booked on it.
        self.env["marketplace.invoicing"]._on_posted(posted)
        return posted

    def button_cancel(self):
        if self:  # Odoo's own code cancels an order's draft invoices, often none
            check_caller(self, "write")
        result = super().button_cancel()
        # Reset to draft and cancelled: what was booked on it goes with it.
        self.env["marketplace.invoicing"]._on_cancelled(self.filtered(lambda move: move.state == "cancel"))
        return result
