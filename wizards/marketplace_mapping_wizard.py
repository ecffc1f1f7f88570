from collections import defaultdict

from odoo import fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from .. import const
from ..access import MANAGER_GROUP, check_caller
from ..cartona import matching


class MarketplaceMappingWizard(models.TransientModel):
    """One run of the catalogue mapping assistant: Cartona's catalogue as read,
    with a proposed Odoo variant per product, for a person to review and apply."""

    _name = "marketplace.mapping.wizard"
    _description = "Cartona Catalogue Mapping Assistant"
    # Reviewing thousands of products may take a working day.
    _transient_max_hours = 24.0

    config_id = fields.Many2one("marketplace.config", required=True, ondelete="cascade")
    line_ids = fields.One2many("marketplace.mapping.line", "wizard_id")
    complete = fields.Boolean(help="Every page of the catalogue was read (none past the page cap).")

    def _run(self, items, problems):
        """Propose a variant for each catalogue item; list the variants left
        without a proposal and the items that could not be read."""
        self.ensure_one()
        products = self.env["product.product"].search_fetch(
            [("company_id", "in", [False, self.config_id.company_id.id])],
            ["name", "default_code", "barcode", "cartona_id", "cartona_internal_id", "cartona_uom_id", "uom_id"],
        )
        variants = [
            matching.Variant(
                id=product.id,
                name=product.name,
                default_code=product.default_code,
                barcode=product.barcode,
                cartona_id=product.cartona_id,
                cartona_internal_id=product.cartona_internal_id,
                unit_count=product.cartona_uom_id.factor_inv * product.uom_id.factor if product.cartona_uom_id else 1,
                unit_name=product.cartona_uom_id.name,
            )
            for product in products
        ]
        proposals = matching.match(items, variants)
        proposed = {proposal.variant_id for proposal in proposals}
        lines = [
            {
                "side": "cartona",
                "cartona_id": item.supplier_product_id,
                "cartona_internal_id": item.internal_product_id,
                "name": item.name,
                "cartona_unit": item.unit,
                "cartona_unit_count": item.unit_count,
                "product_id": proposal.variant_id,
                "method": proposal.method,
                "confidence": proposal.confidence,
            }
            for item, proposal in zip(items, proposals, strict=True)
        ]
        lines += [
            {"side": "odoo", "name": product.display_name, "product_id": product.id}
            for product in products
            if product.id not in proposed
        ]
        lines += [{"side": "unreadable", "name": problem} for problem in problems]
        self.env["marketplace.mapping.line"].create([dict(vals, wizard_id=self.id) for vals in lines])

    def _open(self):
        """The review list of this run."""
        action = self.env["ir.actions.act_window"]._for_xml_id("cartona_marketplace.action_marketplace_mapping_line")
        action["name"] = self.env._("Catalogue mapping: %s", self.config_id.name)
        if not self.complete:
            action["name"] += " " + self.env._("(first %s pages only)", const.MAX_CATALOGUE_PAGES)
        action["domain"] = [("wizard_id", "=", self.id)]
        action["context"] = {"mapping_wizard_id": self.id, "search_default_cartona": 1}
        return action

    def _done(self, count, refused):
        message = self.env._("%s Odoo products are mapped to Cartona.", count)
        if refused:
            message = "\n".join([message, self.env._("Not applied:"), *refused])
        return self.config_id._notify(self.env._("Mapping applied"), message, "warning" if refused else "success")

    def _apply(self, lines, send_internal_refs=False):
        """Write the proposals of ``lines``: Cartona ID, internal ID (kept when
        Cartona has none) and Cartona unit. Refused whole when a Cartona key
        would be on two products; a line whose Cartona unit is less than one
        piece is left out. Returns the number of products mapped and a
        sentence per line left out."""
        check_caller(self, "write", MANAGER_GROUP)
        self.ensure_one()
        lines = lines.filtered(lambda line: line.wizard_id == self and line.side == "cartona" and line.product_id)
        smaller = lines.filtered(
            lambda line: line.cartona_unit_count and float_compare(line.cartona_unit_count, 1, precision_digits=6) < 0
        )
        refused = [
            self.env._(
                "Cartona %(id)s (%(name)s): its unit holds %(count)s of a piece; a unit below one piece is not mapped.",
                id=line.cartona_id,
                name=line.name,
                count=matching.number_text(line.cartona_unit_count),
            )
            for line in smaller
        ]
        lines -= smaller
        products = lines.product_id
        check_caller(products, "write")
        self._check_one_key_per_product(lines)
        # Keys move between the products of this run: cleared first, so that
        # a swap never meets the unique constraints half done. A product keeps
        # its internal ID when Cartona sends none, unless another line takes it.
        for field in ("cartona_id", "cartona_internal_id"):
            wanted = {line.product_id: line[field] for line in lines}
            taken = set(filter(None, wanted.values()))
            products.filtered(
                lambda product, f=field, wanted=wanted, taken=taken: (
                    product[f] and product[f] != wanted[product] and (wanted[product] or product[f] in taken)
                )
            ).write({field: False})
        units = {}
        for line in lines:
            vals = {"cartona_id": line.cartona_id}
            if line.cartona_internal_id:
                vals["cartona_internal_id"] = line.cartona_internal_id
            if line.cartona_unit_count:
                vals["cartona_uom_id"] = self._cartona_unit(line, units).id
            line.product_id.write(vals)
        if send_internal_refs:
            refs = lines.filtered(
                lambda line: line.product_id.default_code and line.product_id.default_code != line.cartona_internal_id
            ).product_id
            if refs:
                self.config_id.sudo().with_delay(
                    max_retries=self.config_id.retry_attempts,
                    description=self.env._("Send internal references to %s", self.config_id.name),
                )._publish_internal_refs(refs.ids)
        return len(lines), refused

    def _check_one_key_per_product(self, lines):
        """One Cartona product per variant, and no Cartona key left on a
        product this run does not remap."""
        by_product = defaultdict(list)
        for line in lines:
            by_product[line.product_id].append(line.cartona_id)
        twice = {product: ids for product, ids in by_product.items() if len(ids) > 1}
        if twice:
            raise UserError(
                self.env._("One Odoo product cannot be several Cartona products:")
                + "\n"
                + "\n".join(
                    self.env._("%(product)s: Cartona %(ids)s", product=product.display_name, ids=", ".join(sorted(ids)))
                    for product, ids in twice.items()
                )
            )
        products = lines.product_id
        conflicts = []
        by_internal_id = defaultdict(list)
        for line in lines.filtered("cartona_internal_id"):
            by_internal_id[line.cartona_internal_id].append(line.cartona_id)
        conflicts += [
            self.env._(
                "Internal ID %(key)s is on several Cartona products (%(ids)s): keep one of them.",
                key=key,
                ids=", ".join(ids),
            )
            for key, ids in by_internal_id.items()
            if len(ids) > 1
        ]
        for field, label in (
            ("cartona_id", self.env._("Cartona ID")),
            ("cartona_internal_id", self.env._("internal ID")),
        ):
            wanted = {line[field]: line for line in lines if line[field]}
            holders = (
                self.env["product.product"]
                .sudo()
                .with_context(active_test=False)
                .search([(field, "in", list(wanted)), ("id", "not in", products.ids)])
            )
            conflicts += [
                self.env._(
                    "%(label)s %(key)s is already used by %(holder)s: it cannot go to %(product)s.",
                    label=label,
                    key=holder[field],
                    # An archived product is not in the product lists: say where to look.
                    holder=holder.display_name if holder.active else self.env._("%s (archived)", holder.display_name),
                    product=wanted[holder[field]].product_id.display_name,
                )
                for holder in holders
            ]
        if conflicts:
            raise UserError("\n".join(conflicts))

    def _cartona_unit(self, line, units):
        """The Odoo unit of one Cartona unit of ``line``'s product: its own
        unit, or a bigger one of ``cartona_unit_count`` times it, in the same
        category ("Box of 12" among the Units), made once when missing."""
        uom = line.product_id.uom_id
        if float_compare(line.cartona_unit_count, 1, precision_digits=6) <= 0:
            return uom
        ratio = line.cartona_unit_count * uom.factor_inv
        key = (uom.category_id.id, line.cartona_unit, round(ratio, 6))
        if key not in units:
            # Made as the connector (only settings administrators create units):
            # a new unit of Cartona's own size, no existing unit changed.
            Uom = self.env["uom.uom"].sudo()
            same = Uom.search([("category_id", "=", uom.category_id.id)]).filtered(
                lambda u: float_compare(u.factor_inv, ratio, precision_digits=6) == 0
            )
            count = matching.number_text(line.cartona_unit_count)
            unit = (line.cartona_unit or "unit").replace("_", " ").capitalize()
            name = self.env._("%(unit)s of %(count)s", unit=unit, count=count)
            if uom.category_id != self.env.ref("uom.product_uom_categ_unit"):
                name += f" {uom.name}"
            if line.cartona_unit:
                # Named as Cartona names it: a "Box of 12" is not shown as "Dozens".
                found = same.filtered(lambda u: u.name == name)
            else:
                # Cartona names no unit: one of its size, whatever its name,
                # first one that is already a Cartona unit ("Box of 12").
                in_use = {
                    used.id
                    for (used,) in self.env["product.product"]
                    .sudo()
                    .with_context(active_test=False)
                    ._read_group([("cartona_uom_id", "in", same.ids)], ["cartona_uom_id"])
                }
                found = same.filtered(lambda u: u.id in in_use) or same
            units[key] = found[:1] or Uom.create(
                {"name": name, "category_id": uom.category_id.id, "uom_type": "bigger", "factor_inv": ratio}
            )
        return units[key]
