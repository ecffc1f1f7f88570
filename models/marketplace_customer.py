from odoo import api, models

from ..cartona import payloads


class MarketplaceCustomer(models.AbstractModel):
    """Cartona's retailer → Odoo partner: by retailer code, else by phone
    number however written (``payloads.phone_key``), else a new contact."""

    _name = "marketplace.customer"
    _description = "Marketplace Customer Matching"

    @api.model
    def _prefetch(self, orders):
        """The partners of the page's retailer codes, in one query: ``{code: partner}``."""
        codes = {order.retailer.code for order in orders if order.retailer and order.retailer.code}
        if not codes:
            return {}
        found = {}
        for partner in self._retailer_partners(codes):
            found.setdefault(partner.cartona_id, partner)
        return found

    @api.model
    def _retailer_partners(self, codes):
        """Partners by retailer code, archived ones too, the one to use first."""
        return self.env["res.partner"].with_context(active_test=False).search([("cartona_id", "in", list(codes))])

    @api.model
    def _find_or_create(self, config, retailer, known=None):
        partners = self.env["res.partner"].with_context(active_test=False)
        partner = partners.browse()
        if retailer.code:
            # A retailer first seen on this page is not among the ``known`` partners.
            partner = (known or {}).get(retailer.code) or self._retailer_partners([retailer.code])[:1]
        if not partner and retailer.phone_keys:
            # Any customer, entered by hand or not, whose phone or mobile is
            # one of the retailer's numbers; never an employee or a company of ours.
            domain = [
                "|",
                ("cartona_phone_key", "in", retailer.phone_keys),
                ("cartona_mobile_key", "in", retailer.phone_keys),
                ("company_id", "in", [False, config.company_id.id]),
                ("partner_share", "=", True),
                ("ref_company_ids", "=", False),
            ]
            if "employee_ids" in partners._fields:
                # With Employees installed, an employee without a login has a work contact too.
                domain.append(("employee_ids", "=", False))
            if retailer.code:
                # A partner with another retailer code is another retailer.
                domain.append(("cartona_id", "in", [False, retailer.code]))
            partner = partners.search(domain, order="active desc, id", limit=1)
        vals = self._partner_vals(retailer)
        if not partner:
            return partners.create(dict(vals, customer_rank=1, marketplace_customer_type="retailer"))
        if partner.marketplace_customer_type != "retailer":
            # The supplier's own customer, found by phone: the code is stamped,
            # the name and address stay theirs.
            if retailer.code and partner.cartona_id != retailer.code:
                partner.write({"cartona_id": retailer.code})
            return partner
        for name in ("phone", "mobile"):
            # A number the customer already has, however written, is left as written.
            if payloads.phone_key(vals[name]) in (partner.cartona_phone_key, partner.cartona_mobile_key):
                del vals[name]
        changed = {name: value for name, value in vals.items() if value and partner[name] != value}
        if changed:
            partner.write(changed)
        return partner

    @api.model
    def _partner_vals(self, retailer):
        return {
            "name": retailer.name,
            "cartona_id": retailer.code,
            "phone": retailer.phone,
            "mobile": retailer.phone2,
            "street": retailer.address,
            "street2": retailer.address_notes,
        }
