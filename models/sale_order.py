from odoo import api, fields, models
from odoo.exceptions import UserError

from .. import const


class SaleOrder(models.Model):
    _inherit = "sale.order"

    cartona_id = fields.Char("Cartona Order ID", copy=False, index="btree_not_null", readonly=True)
    marketplace_config_id = fields.Many2one(
        "marketplace.config", "Marketplace", copy=False, index="btree_not_null", readonly=True
    )
    is_marketplace_order = fields.Boolean(compute="_compute_is_marketplace_order", store=True)
    marketplace_order_number = fields.Char("Cartona Order Number", copy=False, readonly=True)
    marketplace_status = fields.Selection(const.ORDER_STATUSES, "Cartona Status", copy=False, readonly=True)
    delivered_by = fields.Selection(const.DELIVERED_BY, copy=False, readonly=True)
    marketplace_payment_method = fields.Char("Payment Method", copy=False, readonly=True)
    marketplace_supplier_code = fields.Char("Cartona Supplier Code", copy=False, readonly=True)
    marketplace_sync_status = fields.Selection(const.SYNC_STATUSES, "Status Sync", copy=False)
    marketplace_error_message = fields.Text("Sync Error", copy=False)
    cartona_payload_hash = fields.Char(copy=False, readonly=True)
    # Delivery
    cartona_estimated_delivery_day = fields.Date("Estimated Delivery Day", copy=False, readonly=True)
    cartona_delivery_day = fields.Date("Delivery Day", copy=False, readonly=True)
    cartona_preferred_delivery_date = fields.Date("Retailer's Preferred Date", copy=False, readonly=True)
    cartona_pickup_date = fields.Date("Pickup Date", copy=False, readonly=True)
    cartona_route_code = fields.Char("Distribution Route", copy=False, readonly=True)
    cartona_note = fields.Text("Retailer Note", copy=False, readonly=True)
    # Money facts
    cartona_total_price = fields.Monetary("Cartona Total", copy=False, readonly=True)
    cartona_credit = fields.Monetary(copy=False, readonly=True)
    cartona_installment_cost = fields.Monetary("Installment (paid by Cartona)", copy=False, readonly=True)
    cartona_wallet_top_up = fields.Monetary("Wallet Top-up", copy=False, readonly=True)
    cartona_supplier_rebate = fields.Monetary("Supplier Rebate", copy=False, readonly=True)
    cartona_otp_required = fields.Boolean("OTP Required", copy=False, readonly=True)
    retailer_otp = fields.Char("Retailer OTP", copy=False, help="The code the retailer gives at delivery.")
    cartona_cancellation_reason = fields.Selection(const.CANCELLATION_REASONS, copy=False)
    cartona_return_reason = fields.Char(copy=False, readonly=True)

    _sql_constraints = [
        (
            "cartona_id_per_marketplace_unique",
            "UNIQUE(marketplace_config_id, cartona_id)",
            "This Cartona order is already imported.",
        ),
    ]

    @api.depends("marketplace_config_id")
    def _compute_is_marketplace_order(self):
        for order in self:
            order.is_marketplace_order = bool(order.marketplace_config_id)

    def _check_not_editing(self, what):
        """While the retailer edits the order on Cartona, hands off."""
        editing = self.filtered(lambda o: o.marketplace_status == "editing")
        if editing:
            raise UserError(
                self.env._(
                    "The retailer is editing %(orders)s on Cartona: you cannot %(what)s it until "
                    "Cartona sets it back to pending.",
                    orders=", ".join(editing.mapped("name")),
                    what=what,
                )
            )

    def action_confirm(self):
        self._check_not_editing(self.env._("confirm"))
        return super().action_confirm()

    def action_cancel(self):
        self._check_not_editing(self.env._("cancel"))
        return super().action_cancel()

    def _action_cancel(self):
        self._check_not_editing(self.env._("cancel"))
        return super()._action_cancel()
