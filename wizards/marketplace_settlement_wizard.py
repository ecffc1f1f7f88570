from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..access import USER_GROUP, check_caller

OPEN_ACCOUNT_TYPES = ("asset_receivable", "liability_payable")


class MarketplaceSettlementWizard(models.TransientModel):
    """Cartona's statement for a period, per order: what Cartona owes (its part
    of each invoice and the discounts it funds, on the Cartona partner's receivable) and what the
    supplier owes Cartona (wallet top-ups, on its payable), with whatever of the
    Cartona partner is still open from before. Registering
    Cartona's settlement nets the two and reconciles the payment.

    Runs with the user's own accounting rights: nothing here is the connector's."""

    _name = "marketplace.settlement.wizard"
    _description = "Cartona Statement and Settlement"

    config_id = fields.Many2one("marketplace.config", "Marketplace", required=True)
    company_id = fields.Many2one(related="config_id.company_id")
    currency_id = fields.Many2one(related="company_id.currency_id")
    date_from = fields.Date(required=True, default=lambda self: fields.Date.context_today(self).replace(day=1))
    date_to = fields.Date(required=True, default=fields.Date.context_today)
    line_ids = fields.Many2many("account.move.line", compute="_compute_statement", string="Statement")
    cartona_owes = fields.Monetary(compute="_compute_statement", help="Open on the Cartona partner's receivable.")
    supplier_owes = fields.Monetary(compute="_compute_statement", help="Open on the Cartona partner's payable.")
    net_amount = fields.Monetary("Net Due by Cartona", compute="_compute_statement")
    journal_id = fields.Many2one(
        "account.journal", "Paid Into", check_company=True, domain=[("type", "in", ("bank", "cash"))]
    )
    payment_date = fields.Date(default=fields.Date.context_today)
    amount = fields.Monetary(
        "Amount Settled",
        compute="_compute_amount",
        store=True,
        readonly=False,
        help="What Cartona paid (negative: what the supplier paid Cartona). Defaults to the net due.",
    )

    @api.depends("config_id", "date_from", "date_to")
    def _compute_statement(self):
        for wizard in self:
            lines = wizard._statement_lines()
            open_lines = lines.filtered(lambda line: not line.reconciled)
            owed = sum(
                open_lines.filtered(lambda line: line.account_type == "asset_receivable").mapped("amount_residual")
            )
            owing = -sum(
                open_lines.filtered(lambda line: line.account_type == "liability_payable").mapped("amount_residual")
            )
            wizard.line_ids = lines
            wizard.cartona_owes = owed
            wizard.supplier_owes = owing
            wizard.net_amount = owed - owing

    @api.depends("net_amount")
    def _compute_amount(self):
        for wizard in self:
            wizard.amount = wizard.net_amount

    def _statement_lines(self):
        """The Cartona partner's receivable and payable lines of the period,
        and every one still open from before, whatever its journal: a
        payment a reversal left open counts as much as a booking. Only this
        configuration's (the configurations of a company share the Cartona
        partner), and those of none (a payment)."""
        self.ensure_one()
        partner = self.config_id.cartona_partner_id
        if not partner or not self.date_from or not self.date_to:
            return self.env["account.move.line"]
        return self.env["account.move.line"].search(
            [
                ("company_id", "=", self.company_id.id),
                ("partner_id", "=", partner.id),
                ("move_id.cartona_config_id", "in", [self.config_id.id, False]),
                ("parent_state", "=", "posted"),
                ("account_type", "in", OPEN_ACCOUNT_TYPES),
                ("date", "<=", self.date_to),
                "|",
                ("reconciled", "=", False),
                ("date", ">=", self.date_from),
            ],
            order="date, id",
        )

    def action_register_settlement(self):
        """Cartona's settlement: the top-ups set off against Cartona's part, then
        one payment of the amount settled, reconciled with what stays open."""
        check_caller(self, "write", USER_GROUP)
        self.ensure_one()
        if not self.journal_id:
            raise UserError(self.env._("Choose the journal the settlement was paid into."))
        open_lines = self._statement_lines().filtered(lambda line: not line.reconciled)
        receivable = open_lines.filtered(lambda line: line.account_type == "asset_receivable")
        payable = open_lines.filtered(lambda line: line.account_type == "liability_payable")
        offset = min(sum(receivable.mapped("amount_residual")), -sum(payable.mapped("amount_residual")))
        if self.currency_id.compare_amounts(offset, 0) > 0:
            self._set_off(receivable, payable, offset)
        if self.currency_id.is_zero(self.amount):
            return {"type": "ir.actions.act_window_close"}
        to_pay = (receivable if self.amount > 0 else payable).filtered(lambda line: not line.reconciled)
        if not to_pay:
            raise UserError(self.env._("Nothing is left open on that side of the statement for this payment."))
        register = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move.line", active_ids=to_pay.ids)
            .create(
                {
                    "journal_id": self.journal_id.id,
                    "payment_date": self.payment_date,
                    "amount": abs(self.amount),
                    "group_payment": True,
                    "payment_difference_handling": "open",
                    "communication": self.env._(
                        "Cartona settlement %(start)s to %(end)s", start=self.date_from, end=self.date_to
                    ),
                }
            )
        )
        register._create_payments()
        return {"type": "ir.actions.act_window_close"}

    def _set_off(self, receivable, payable, amount):
        """What the supplier owes Cartona set off against what Cartona owes it."""
        if len(receivable.account_id) > 1 or len(payable.account_id) > 1:
            raise UserError(self.env._("The Cartona partner's items are on several accounts: settle them by hand."))
        partner = self.config_id.cartona_partner_id
        label = self.env._("Wallet top-ups set off against Cartona's part")
        entry = self.env["account.move"].create(
            {
                "move_type": "entry",
                "journal_id": self.config_id.cartona_journal_id.id,
                "date": self.payment_date or fields.Date.context_today(self),
                "ref": label,
                "line_ids": [
                    Command.create(
                        {
                            "account_id": payable.account_id.id,
                            "partner_id": partner.id,
                            "balance": amount,
                            "name": label,
                        }
                    ),
                    Command.create(
                        {
                            "account_id": receivable.account_id.id,
                            "partner_id": partner.id,
                            "balance": -amount,
                            "name": label,
                        }
                    ),
                ],
            }
        )
        entry.action_post()
        for lines in (receivable, payable):
            (lines | entry.line_ids.filtered(lambda line, lines=lines: line.account_id == lines.account_id)).reconcile()
