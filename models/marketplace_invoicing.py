import logging
from collections import defaultdict

import psycopg2

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from .. import const

_logger = logging.getLogger(__name__)

# What reverses each booking (``account.move.cartona_move_kind``).
REVERSAL_KINDS = {
    "invoice": "refund",
    "cartona_share": "cartona_share_reversal",
    "cartona_discount": "cartona_discount_reversal",
    "top_up": "top_up_reversal",
}


class MarketplaceInvoicing(models.AbstractModel):
    """A delivered Cartona order → the retailer's invoice, Cartona's part moved
    to the Cartona partner, the discounts Cartona funds owed by it on top, the
    wallet top-up owed to Cartona; a cancelled or returned one → all of it
    reversed.

    Runs as the connector (``sudo``), each order in a savepoint: the warehouse
    user who validates the delivery needs no accounting rights, and a failure
    never stops the delivery. Each booking is one ``account.move`` whose
    (order, kind) is unique in the database: booked once, whoever triggers it
    and however often Cartona sends the order.
    """

    _name = "marketplace.invoicing"
    _description = "Cartona Invoicing"

    # Triggers -------------------------------------------------------------

    @api.model
    def _invoice_delivered(self, sales):
        """Stock: the orders whose last outgoing delivery is done."""
        for sale in self._invoiced_by_config(sales):
            if sale._marketplace_all_delivered():
                self._run_safely(sale, self._invoice)

    @api.model
    def _on_cartona_status(self, sale, status):
        """Import: Cartona's ``delivered`` for an order Cartona delivers, its
        cancellation of an invoiced order, its return (goods and money,
        models/marketplace_returns.py). Money follows what the import did: a
        cancellation it refused (the goods are delivered) leaves the invoice
        standing."""
        sale = sale.sudo()
        if status in const.CANCELLED_STATUSES and sale.state != "cancel":
            return
        if status in const.RETURNED_STATUSES:
            self._run_safely(sale, self.env["marketplace.returns"]._on_returned)
        elif status in const.CANCELLED_STATUSES:
            self._run_safely(sale, self._reverse)
        elif status == "delivered" and sale.delivered_by == "delivered_by_cartona" and self._invoiced_by_config(sale):
            self._run_safely(sale, self._invoice)

    @api.model
    def _invoiced_by_config(self, sales):
        return sales.sudo().filtered(lambda o: o.is_marketplace_order and o.marketplace_config_id.invoice_mode != "off")

    @api.model
    def _run_safely(self, sale, func, *args):
        """``func(sale, *args)`` in a savepoint; a failure is logged and gets
        an activity on the order, and whatever triggered it goes on."""
        try:
            with self.env.cr.savepoint():
                return func(sale, *args)
        except psycopg2.errors.UniqueViolation:
            # Another transaction booked the same order at the same moment: its booking stands.
            message = f"{sale.name} is being invoiced by another transaction: left to it"
            status = "warning"
        except psycopg2.OperationalError:
            raise  # serialization failures and the like: the whole transaction retries
        except Exception as exc:
            if not isinstance(exc, UserError):
                _logger.exception("Invoicing %s failed", sale.name)
            message = f"Invoicing {sale.name} (Cartona order {sale.marketplace_order_number}) failed: {exc}"
            status = "error"
            config = sale.marketplace_config_id.sudo()
            config._schedule_activity(sale, "Cartona: invoice by hand", message, sale=sale)
        self._log(sale, status, message)
        return None

    # Bookings -------------------------------------------------------------

    @api.model
    def _bookings(self, sale):
        """``{kind: move}`` of what is booked for the order."""
        moves = (
            self.env["account.move"]
            .sudo()
            .search([("cartona_sale_order_id", "=", sale.id), ("cartona_move_kind", "!=", False)])
        )
        return {move.cartona_move_kind: move for move in moves}

    @api.model
    def _invoice(self, sale):
        """The retailer's invoice, by Odoo's own ``_create_invoices``; posted
        (and Cartona's part booked) when the configuration says so."""
        if "invoice" in self._bookings(sale) or sale.state != "sale":
            return
        if sale.invoice_ids.filtered(lambda move: move.move_type == "out_invoice" and move.state != "cancel"):
            # Invoiced by hand (at confirmation, say): posting it books Cartona's part.
            return
        config = sale.marketplace_config_id
        self._check_setup(config)
        sale = sale.sudo().with_company(sale.company_id)
        invoice = sale._create_invoices(final=True)
        invoice.write({"cartona_sale_order_id": sale.id, "cartona_move_kind": "invoice"})
        self._round_to_cartona(sale, invoice)
        message = sale._marketplace_total_warning(
            sale.cartona_total_price or None, f"on its invoice {invoice.name or invoice.id}", invoice.amount_total
        )
        if message:
            invoice.message_post(body=message)
            # A short delivery, say: the retailer owes what it received, Cartona's figures differ.
            config._schedule_activity(sale, "Cartona: invoice differs from Cartona's total", message, sale=sale)
            self._log(sale, "warning", message)
        if config.invoice_mode == "posted":
            invoice.action_post()
        self._log(sale, "success", f"{sale.name} invoiced")

    @api.model
    def _round_to_cartona(self, sale, invoice):
        """Unit prices brought back from a price-excluded tax are kept to
        Odoo's decimals (under half a cent a unit, times the tax): the cents
        that leaves between the invoice of the whole order and Cartona's
        ``total_price`` end on a stated line."""
        currency = invoice.currency_id
        left = currency.round(sale.cartona_total_price - invoice.amount_total)
        taxed_apart = invoice.invoice_line_ids.tax_ids.filtered(lambda tax: not tax.price_include)
        whole = all(
            not line.sale_line_ids
            or not float_compare(
                line.quantity,
                sum(line.sale_line_ids.mapped("product_uom_qty")),
                precision_rounding=line.product_uom_id.rounding,
            )
            for line in invoice.invoice_line_ids
        )
        # Less than a cent a unit: more is no rounding.
        units = sum(invoice.invoice_line_ids.mapped("quantity"))
        if not (taxed_apart and whole and left and abs(left) <= currency.rounding * units):
            return
        invoice.write(
            {
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": self.env._("Rounding to Cartona's total price"),
                            "quantity": 1.0,
                            "price_unit": left,
                            "tax_ids": [Command.clear()],
                            "account_id": invoice.journal_id.default_account_id.id,
                        }
                    )
                ]
            }
        )

    @api.model
    def _check_setup(self, config):
        if not (config.cartona_partner_id and config.cartona_journal_id):
            raise UserError(
                self.env._("%s has no Cartona partner or journal: set them on the configuration.", config.name)
            )

    @api.model
    def _on_posted(self, moves):
        """Customer invoices posted, by the connector or by hand (Odoo's
        "Create invoice", at confirmation or after delivery): Cartona's part is
        booked on the first posted invoice of each Cartona order, once, and
        matched with it again when it is posted after a reset to draft."""
        for invoice in moves.sudo().filtered(lambda move: move.move_type == "out_invoice"):
            sales = invoice.cartona_sale_order_id or invoice.invoice_line_ids.sale_line_ids.order_id.filtered(
                "is_marketplace_order"
            )
            for sale in sales.filtered(lambda o: self._has_setup(o.marketplace_config_id)):
                self._run_safely(sale, self._book_cartona_part, invoice)

    @api.model
    def _has_setup(self, config):
        return bool(config.cartona_partner_id and config.cartona_journal_id)

    @api.model
    def _adopt(self, sale, invoice):
        """The order's invoice, whoever made it. False when another invoice of
        the order carries Cartona's part already."""
        if invoice.cartona_move_kind == "invoice":
            return True
        if len(invoice.invoice_line_ids.sale_line_ids.order_id) > 1:
            raise UserError(
                self.env._(
                    "%(invoice)s invoices several orders: Cartona's part is booked per order. "
                    "Invoice each Cartona order on its own.",
                    invoice=invoice.name,
                )
            )
        if "invoice" in self._bookings(sale):
            return False
        invoice.write({"cartona_sale_order_id": sale.id, "cartona_move_kind": "invoice"})
        return True

    @api.model
    def _book_cartona_part(self, sale, invoice):
        """On the posted invoice: Cartona's part (credit and installment) moved
        from the retailer's receivable to the Cartona partner's and reconciled
        with the invoice; the discounts Cartona funds, which the invoice's
        prices already leave out, owed by Cartona on top of it as income; the
        wallet top-up the retailer pays in cash put on the retailer's
        receivable and owed to Cartona on its payable."""
        config = sale.marketplace_config_id
        self._check_setup(config)
        if not self._adopt(sale, invoice):
            return
        booked = self._bookings(sale)
        cartona = config.cartona_partner_id.with_company(invoice.company_id)
        retailer = invoice.commercial_partner_id
        receivable = invoice.line_ids.filtered(lambda line: line.account_type == "asset_receivable")
        currency = invoice.company_id.currency_id
        collects = self._cartona_collects(sale)
        # Cartona's courier collects the retailer's cash: Cartona owes the whole invoice.
        share = currency.round(invoice.amount_total if collects else sale.cartona_share_amount)
        share_entry = booked.get("cartona_share")
        if currency.compare_amounts(share, 0) > 0 and not share_entry:
            label = self.env._("Cartona's part of %(invoice)s (%(order)s)", invoice=invoice.name, order=sale.name)
            share_entry = self._book(
                sale,
                "cartona_share",
                invoice.date,
                [
                    (cartona.property_account_receivable_id, cartona, share, label),
                    (receivable.account_id[:1], retailer, -share, label),
                ],
            )
        if share_entry and share_entry.state == "posted":
            # Matched again after a reset to draft, which unreconciles the invoice.
            retailer_part = share_entry.line_ids.filtered(
                lambda line: line.partner_id == retailer and line.account_id == receivable.account_id[:1]
            )
            to_match = (retailer_part | receivable).filtered(lambda line: not line.reconciled)
            if to_match & retailer_part and to_match & receivable:
                to_match.reconcile()
        discount = currency.round(sale.cartona_discount_total)
        # An invoice posted before Cartona's discounts had an entry of their own
        # carries them in its share: posted again, it books them no second time.
        if currency.compare_amounts(discount, 0) > 0 and not {"cartona_discount", "cartona_share"} & booked.keys():
            label = self.env._(
                "Cartona-funded discounts of %(invoice)s (%(order)s)", invoice=invoice.name, order=sale.name
            )
            self._book(
                sale,
                "cartona_discount",
                invoice.date,
                [
                    (cartona.property_account_receivable_id, cartona, discount, label),
                    *(
                        (account, cartona, -self._untaxed(taxes, amount), label, taxes)
                        for (account, taxes), amount in self._discount_income(invoice, discount).items()
                    ),
                ],
            )
        # A top-up Cartona's courier collects never passes through the supplier.
        top_up = 0.0 if collects else currency.round(sale.cartona_wallet_top_up)
        if currency.compare_amounts(top_up, 0) > 0 and "top_up" not in booked:
            label = self.env._("Wallet top-up of %s, collected for Cartona", sale.name)
            self._book(
                sale,
                "top_up",
                invoice.date,
                [
                    (retailer.with_company(invoice.company_id).property_account_receivable_id, retailer, top_up, label),
                    (cartona.property_account_payable_id, cartona, -top_up, label),
                ],
            )

    @api.model
    def _cartona_collects(self, sale):
        return sale.delivered_by == "delivered_by_cartona" and sale.marketplace_config_id.cartona_collects_cash

    @api.model
    def _discount_income(self, invoice, amount):
        """``{(income account, taxes): share of amount}``: the accounts and
        taxes the invoice books the discounted lines with, weighted by their
        discounts, so the discount is revenue of the product it was given on,
        with its VAT (a third party's consideration for the supply is taxed as
        the price is); the sales journal's own account, untaxed, when no
        invoiced line carries one."""
        weights = defaultdict(float)
        for line in invoice.invoice_line_ids:
            for sale_line in line.sale_line_ids:
                weights[line.account_id, line.tax_ids] += sale_line.cartona_discount * line.quantity
        weights = {key: weight for key, weight in weights.items() if weight > 0}
        if not weights:
            return {(invoice.journal_id.default_account_id, self.env["account.tax"]): amount}
        currency, total, left = invoice.company_id.currency_id, sum(weights.values()), amount
        shares = {}
        for key, weight in list(weights.items())[:-1]:
            shares[key] = currency.round(amount * weight / total)
            left -= shares[key]
        shares[list(weights)[-1]] = currency.round(left)
        return shares

    @api.model
    def _untaxed(self, taxes, amount):
        """The base of ``amount`` tax included (Odoo adds the tax lines)."""
        if not taxes:
            return amount
        details = taxes._get_tax_details(amount, 1.0, rounding_method="round_per_line", special_mode="total_included")
        return taxes.company_id[:1].currency_id.round(details["total_excluded"])

    @api.model
    def _book(self, sale, kind, date, lines):
        """A posted entry in the Cartona journal: ``lines`` are (account,
        partner, balance, label[, taxes]); Odoo adds the tax lines of the
        taxed ones, and a cent of rounding left ends on a line of its own,
        on the last line's account."""
        journal = sale.marketplace_config_id.cartona_journal_id
        move = (
            self.env["account.move"]
            .sudo()
            .with_company(sale.company_id)
            .create(
                {
                    "move_type": "entry",
                    "journal_id": journal.id,
                    "date": date,
                    "ref": sale.marketplace_order_number or sale.name,
                    "cartona_sale_order_id": sale.id,
                    "cartona_move_kind": kind,
                    "line_ids": [
                        Command.create(
                            {
                                "account_id": account.id,
                                "partner_id": partner.id,
                                "balance": balance,
                                "name": label,
                                "tax_ids": [Command.set(taxes[0].ids)] if taxes else [],
                            }
                        )
                        for account, partner, balance, label, *taxes in lines
                    ],
                }
            )
        )
        left = move.currency_id.round(sum(move.line_ids.mapped("balance")))
        if left:
            account, partner = lines[-1][:2]
            rounding = self.env._("Rounding")
            move.write(
                {
                    "line_ids": [
                        Command.create(
                            {"account_id": account.id, "partner_id": partner.id, "balance": -left, "name": rounding}
                        )
                    ]
                }
            )
        move.action_post()
        return move

    @api.model
    def _reverse(self, sale):
        """Cancelled or returned after invoicing: a draft invoice is cancelled;
        a posted one gets its credit note, and Cartona's part, its discounts
        and the top-up are reversed, each matched with what it reverses."""
        booked = self._bookings(sale)
        invoice = booked.get("invoice")
        if not invoice or "refund" in booked or invoice.state == "cancel":
            return
        if invoice.state == "draft":
            invoice.button_cancel()
            return
        self._reverse_bookings(sale, booked, REVERSAL_KINDS)
        self._log_credited(sale)

    @api.model
    def _log(self, sale, status, message):
        """One line of the invoicing's sync log, on the order."""
        self.env["marketplace.sync.log"]._log_operation(
            sale.marketplace_config_id.id, "invoicing", status, message, res_model=sale._name, res_id=sale.id
        )

    @api.model
    def _log_credited(self, sale):
        self._log(sale, "success", f"{sale.name} credited back: Cartona order {sale.marketplace_status}")

    @api.model
    def _reverse_bookings(self, sale, booked, kinds):
        """Each posted booking of ``kinds`` not reversed yet: reversed today,
        posted and reconciled with the move it reverses (``cancel=True``),
        whatever had been matched with that move (a payment) left open."""
        today = fields.Date.context_today(self)
        for kind in kinds:
            move, reversal = booked.get(kind), REVERSAL_KINDS[kind]
            if move and move.state == "posted" and reversal not in booked:
                default = {
                    "date": today,
                    "ref": self.env._(
                        "Reversal of %(move)s: Cartona order %(status)s", move=move.name, status=sale.marketplace_status
                    ),
                    "cartona_sale_order_id": sale.id,
                    "cartona_move_kind": reversal,
                }
                if kind == "invoice":
                    default["invoice_date"] = today
                booked[reversal] = move._reverse_moves([default], cancel=True)

    @api.model
    def _reverse_part(self, sale, move, ratio):
        """``ratio`` of a booking reversed (goods partly returned), each line
        matched with the line it reverses where the account is reconcilable."""
        kind = REVERSAL_KINDS[move.cartona_move_kind]
        currency = move.company_id.currency_id
        # Tax lines are Odoo's, from the taxed lines.
        lines = [
            (line.account_id, line.partner_id, -currency.round(line.balance * ratio), line.name, line.tax_ids)
            for line in move.line_ids.filtered(lambda line: not line.tax_repartition_line_id)
        ]
        reversal = self._book(sale, kind, fields.Date.context_today(self), lines)
        for line in move.line_ids.filtered(lambda line: line.account_id.reconcile and not line.reconciled):
            reversal.line_ids.filtered(
                lambda other, line=line: other.account_id == line.account_id and other.partner_id == line.partner_id
            ).union(line).reconcile()
        return reversal

    @api.model
    def _on_cancelled(self, invoices):
        """An invoice of a Cartona order reset to draft and cancelled: what was
        booked on it is reversed, and the order is free for its next invoice,
        which books Cartona's part afresh. The cancelled set keeps its order
        but no kind: it is closed, each booking matched with its reversal."""
        for invoice in invoices.sudo().filtered(lambda move: move.cartona_move_kind == "invoice"):
            sale = invoice.cartona_sale_order_id
            booked = self._bookings(sale)
            kinds = [kind for kind in REVERSAL_KINDS if kind != "invoice"]
            self._reverse_bookings(sale, booked, kinds)
            closed = [
                invoice,
                *(booked.get(kind) for kind in kinds),
                *(booked.get(REVERSAL_KINDS[kind]) for kind in kinds),
            ]
            self.env["account.move"].sudo().union(*filter(None, closed)).write({"cartona_move_kind": False})
            self._log(
                sale,
                "success",
                f"{invoice.name or invoice.id} of {sale.name} cancelled: Cartona's part booked on it is reversed",
            )

    @api.model
    def _set_qty_to_invoice(self, lines):
        """What the lines of Cartona orders have left to invoice. Once an
        order's deliveries are over, its goods follow Odoo's "delivered
        quantities" policy whatever the product's: a driver who delivered 6
        boxes of 10 bills 6, and goods that came back are credited. Before,
        the product's policy stands (a supplier may invoice at confirmation)."""
        for sale in lines.order_id._origin.sudo():
            if sale._marketplace_all_delivered():
                for line in lines.filtered(
                    lambda line, sale=sale: line.order_id._origin == sale and line.qty_delivered_method == "stock_move"
                ):
                    line.qty_to_invoice = line.qty_delivered - line.qty_invoiced

    @api.model
    def _line_prices(self, config, product, price, amount, taxes=None):
        """``tax_id`` and ``price_unit`` of a line Cartona sells at ``price``
        (what the retailer pays, tax included) for ``amount`` units: the
        product's own sales taxes, else the configuration's (price-included)
        ones. With a price-excluded tax the unit price is brought back, as
        Odoo's Amazon connector does with marketplace amounts that include
        tax, so that the line's total with tax stays Cartona's; what rounding
        the unit price leaves is stated on the order (``_check_totals``).
        ``taxes``, when given, are the line's own."""
        if taxes is None:
            taxes = product.taxes_id._filter_taxes_by_company(config.company_id) or config.tax_ids
        vals = {"tax_id": [Command.set(taxes.ids)], "price_unit": price}
        excluded = taxes.filtered(lambda tax: not tax.price_include)
        if excluded and amount:
            total = taxes._get_tax_details(
                price, amount, rounding_method="round_globally", product=product, special_mode="total_included"
            )["total_excluded"]
            # Back with the price-included ones, which Odoo reads in the unit price.
            vals["price_unit"] = (taxes - excluded)._get_tax_details(
                total / amount, 1.0, rounding_method="round_globally", product=product, special_mode="total_excluded"
            )["total_included"]
        return vals
