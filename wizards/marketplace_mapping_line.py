from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression

from ..access import MANAGER_GROUP, check_caller
from ..cartona import matching

# Confidence from which a proposal counts as sure, or as likely.
HIGH_CONFIDENCE = 90
MEDIUM_CONFIDENCE = 70


class MarketplaceMappingLine(models.TransientModel):
    """A Cartona product and the Odoo variant proposed for it; or an Odoo
    variant no Cartona product was matched to; or an item that could not be read."""

    _name = "marketplace.mapping.line"
    _description = "Cartona Catalogue Mapping Proposal"
    _order = "side, confidence, id"
    _transient_max_hours = 24.0

    wizard_id = fields.Many2one("marketplace.mapping.wizard", required=True, ondelete="cascade", index=True)
    side = fields.Selection(
        [("cartona", "Cartona product"), ("odoo", "Odoo product only"), ("unreadable", "Unreadable item")],
        required=True,
        readonly=True,
    )
    cartona_id = fields.Char("Cartona ID", readonly=True)
    cartona_internal_id = fields.Char("Cartona Internal ID", readonly=True)
    name = fields.Char("Cartona Name", readonly=True)
    cartona_unit = fields.Char("Unit", readonly=True)
    cartona_unit_count = fields.Float("Pieces", readonly=True)
    product_id = fields.Many2one("product.product", "Odoo Product")
    default_code = fields.Char(related="product_id.default_code", string="Internal Reference")
    method = fields.Selection(
        [
            (matching.METHOD_MAPPED, "Already mapped"),
            (matching.METHOD_INTERNAL_ID, "Internal reference"),
            (matching.METHOD_BARCODE, "Barcode"),
            (matching.METHOD_NAME, "Name"),
            ("manual", "Chosen by hand"),
        ],
        "Found By",
        readonly=True,
    )
    confidence = fields.Integer(readonly=True, aggregator=False)
    confidence_level = fields.Selection(
        [("high", "Sure"), ("medium", "Likely"), ("low", "Unsure"), ("none", "No proposal")],
        compute="_compute_confidence_level",
        store=True,
    )

    @api.depends("confidence", "product_id", "side")
    def _compute_confidence_level(self):
        for line in self:
            if line.side != "cartona" or not line.product_id:
                line.confidence_level = "none"
            elif line.confidence >= HIGH_CONFIDENCE:
                line.confidence_level = "high"
            elif line.confidence >= MEDIUM_CONFIDENCE:
                line.confidence_level = "medium"
            else:
                line.confidence_level = "low"

    def write(self, vals):
        if "product_id" in vals and "method" not in vals:
            # A person's choice is sure; a cleared proposal is none.
            chosen = bool(vals["product_id"])
            vals = dict(vals, method="manual" if chosen else False, confidence=100 if chosen else 0)
        return super().write(vals)

    def _wizard(self):
        wizard = self.wizard_id or self.env["marketplace.mapping.wizard"].browse(
            self.env.context.get("mapping_wizard_id")
        )
        wizard.ensure_one()
        return wizard

    def _shown(self):
        """The proposals the list shows in this run: the web client sends the
        list's domain (search filters included) with a header button."""
        wizard = self._wizard()
        domain = self.env.context.get("active_domain") or []
        return self.search(
            expression.AND(
                [domain, [("wizard_id", "=", wizard.id), ("side", "=", "cartona"), ("product_id", "!=", False)]]
            )
        )

    def _apply_or_ask(self, send_internal_refs=False):
        """The selected proposals are applied; with none selected, the person
        is asked to confirm those the list shows, counted by confidence."""
        wizard = self._wizard()
        if self:
            return wizard._done(*wizard._apply(self, send_internal_refs=send_internal_refs))
        shown = self._shown()
        if not shown:
            raise UserError(self.env._("This list shows no proposal to apply."))
        confirmation = self.env["marketplace.mapping.apply"].create(
            {"wizard_id": wizard.id, "line_ids": [Command.set(shown.ids)], "send_internal_refs": send_internal_refs}
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Apply the proposals shown"),
            "res_model": confirmation._name,
            "res_id": confirmation.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_apply(self):
        """Apply the selected proposals; with none selected, ask to confirm
        those the list shows."""
        check_caller(self, "write", MANAGER_GROUP)
        return self._apply_or_ask()

    def action_apply_and_send_refs(self):
        """Apply as ``action_apply``, then send each product's internal reference to Cartona."""
        check_caller(self, "write", MANAGER_GROUP)
        return self._apply_or_ask(send_internal_refs=True)

    def action_apply_sure(self):
        """Apply every sure proposal of the run, whatever the list shows."""
        check_caller(self, "write", MANAGER_GROUP)
        wizard = self._wizard()
        return wizard._done(*wizard._apply(wizard.line_ids.filtered(lambda line: line.confidence_level == "high")))
