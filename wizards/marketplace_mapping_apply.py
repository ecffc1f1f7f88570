from odoo import api, fields, models

from ..access import MANAGER_GROUP, check_caller


class MarketplaceMappingApply(models.TransientModel):
    """Apply pressed with no line selected: the proposals the list showed,
    counted by confidence, applied once the person confirms them."""

    _name = "marketplace.mapping.apply"
    _description = "Cartona Catalogue Mapping: Apply the Proposals Shown"
    _transient_max_hours = 24.0

    wizard_id = fields.Many2one("marketplace.mapping.wizard", required=True, ondelete="cascade")
    line_ids = fields.Many2many("marketplace.mapping.line", string="Proposals", readonly=True)
    send_internal_refs = fields.Boolean(readonly=True)
    label = fields.Char(compute="_compute_summary")
    summary = fields.Char(compute="_compute_summary")

    @api.depends("line_ids")
    def _compute_summary(self):
        levels = dict(self.env["marketplace.mapping.line"]._fields["confidence_level"]._description_selection(self.env))
        for confirmation in self:
            lines = confirmation.line_ids
            confirmation.label = self.env._("Apply %s proposals", len(lines))
            confirmation.summary = ", ".join(
                f"{len(lines.filtered(lambda line, level=level: line.confidence_level == level))} {label}"
                for level, label in levels.items()
                if level in lines.mapped("confidence_level")
            )

    def action_confirm(self):
        check_caller(self, "write", MANAGER_GROUP)
        self.ensure_one()
        wizard = self.wizard_id
        return wizard._done(*wizard._apply(self.line_ids, send_internal_refs=self.send_internal_refs))
