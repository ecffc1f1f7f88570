from odoo import api, fields, models

from ..cartona import payloads

# Cartona's identity of a retailer: a user who moves it to another partner
# would have that partner receive the retailer's orders.
CONNECTOR_FIELDS = {
    "cartona_id",
    "cartona_phone_key",
    "cartona_mobile_key",
    "marketplace_customer_type",
    "marketplace_sync_status",
}


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ["res.partner", "marketplace.connector.fields"]
    _cartona_connector_fields = CONNECTOR_FIELDS

    cartona_id = fields.Char(
        "Cartona Retailer Code",
        copy=False,
        index="btree_not_null",
        help="Cartona's retailer_code: stable per retailer and supplier.",
    )
    # Every partner's numbers, however written, so that a customer entered by
    # hand is recognised when Cartona sends one of them.
    cartona_phone_key = fields.Char(
        compute="_compute_cartona_phone_key",
        store=True,
        index="btree_not_null",
        help="The phone in international form: matches a retailer however the number is written.",
    )
    cartona_mobile_key = fields.Char(
        compute="_compute_cartona_mobile_key",
        store=True,
        index="btree_not_null",
        help="The mobile in international form: matches a retailer however the number is written.",
    )
    marketplace_customer_type = fields.Selection(
        [("retailer", "Retailer")],
        copy=False,
    )
    marketplace_sync_status = fields.Selection(
        [("not_synced", "Not synced"), ("synced", "Synced")],
        copy=False,
    )

    @api.depends("phone", "country_id")
    def _compute_cartona_phone_key(self):
        for partner in self:
            partner.cartona_phone_key = partner._cartona_number_key(partner.phone)

    @api.depends("mobile", "country_id")
    def _compute_cartona_mobile_key(self):
        for partner in self:
            partner.cartona_mobile_key = partner._cartona_number_key(partner.mobile)

    def _cartona_number_key(self, number):
        # A number written without its country code is one of the partner's
        # country, as Odoo's phone formatting reads it; Egypt when none is set.
        return payloads.phone_key(number, self.country_id.code or payloads.DEFAULT_PHONE_REGION)
