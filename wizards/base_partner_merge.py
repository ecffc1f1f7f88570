from odoo import models
from odoo.exceptions import UserError


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _update_values(self, src_partners, dst_partner):
        partners = src_partners | dst_partner
        codes = set(partners.mapped("cartona_id")) - {False}
        if len(codes) > 1:
            raise UserError(
                self.env._(
                    "These contacts are different Cartona retailers (%s): they cannot be merged.",
                    ", ".join(sorted(codes)),
                )
            )
        retailer = partners.filtered("cartona_id")[:1]
        if retailer and not dst_partner.cartona_id:
            # The retailer's orders go to the contact kept: whoever may merge
            # contacts moves the retailer's identity with them, and Odoo's own
            # write below then changes none of the connector's fields.
            dst_partner.check_access("write")
            dst_partner.sudo().write(
                {name: retailer[name] for name in ("cartona_id", "marketplace_customer_type", "marketplace_sync_status")}
            )
        return super()._update_values(src_partners, dst_partner)
