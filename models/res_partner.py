from odoo import api, fields, models

from ..access import check_connector_fields

# Cartona's identity of a retailer: a user who moves it to another partner
# would have that partner receive the retailer's orders.
CONNECTOR_FIELDS = {"cartona_id", "cartona_phone_key", "marketplace_customer_type", "marketplace_sync_status"}


class ResPartner(models.Model):
    _inherit = "res.partner"

    cartona_id = fields.Char(
        "Cartona Retailer Code",
        copy=False,
        index="btree_not_null",
        help="Cartona's retailer_code: stable per retailer and supplier.",
    )
    cartona_phone_key = fields.Char(
        copy=False,
        index="btree_not_null",
        help="National number of the retailer's phone, digits only: matches a retailer "
        "however Cartona writes the number.",
    )
    marketplace_customer_type = fields.Selection(
        [("retailer", "Retailer")],
        copy=False,
    )
    marketplace_sync_status = fields.Selection(
        [("not_synced", "Not synced"), ("synced", "Synced")],
        copy=False,
    )

    @api.model_create_multi
    def create(self, vals_list):
        check_connector_fields(self, vals_list, CONNECTOR_FIELDS)
        return super().create(vals_list)

    def write(self, vals):
        check_connector_fields(self, [vals], CONNECTOR_FIELDS)
        return super().write(vals)
