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
        # Odoo writes on the contact kept the last non-empty value of each
        # column, the connector's fields among them: whoever may merge contacts
        # moves the retailer's identity with them (their orders follow it), and
        # Odoo's own write then changes none of those fields.
        identity = {}
        for name in ("cartona_id", "marketplace_customer_type", "marketplace_sync_status"):
            values = [partner[name] for partner in (*src_partners, dst_partner) if partner[name]]
            if values and values[-1] != dst_partner[name]:
                identity[name] = values[-1]
        if identity:
            dst_partner.check_access("write")
            dst_partner.sudo().write(identity)
        return super()._update_values(src_partners, dst_partner)
