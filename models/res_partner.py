from odoo import fields, models


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
