"""Invoicing on delivery, with Cartona's part of each order settled on the invoice."""

import psycopg2

from odoo import Command, api, models
from odoo.exceptions import AccessError
from odoo.tests import Form
from odoo.tools import mute_logger

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import ImportCase, make_user


class InvoicingCase(ImportCase, AccountTestInvoicingCommon):
    """Odoo's accounting test chart in a company of its own; the connector's
    tests run as the superuser, as its cron does."""

    @classmethod
    def setup_independent_user(cls):
        return None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config.invoice_mode = "posted"
        cls.cartona = cls.config.cartona_partner_id
        cls.receivable = cls.company_data["default_account_receivable"]
        cls.cartona_payable = cls.cartona.with_company(cls.env.company).property_account_payable_id
        company = cls.env.company
        cls.clerk = make_user(
            cls.env,
            "clerk",
            "warehouse",
            company_id=company.id,
            company_ids=[(6, 0, company.ids)],
        )

    def order(self, source="Lr4tN8wQ", **changes):
        """An example order, approved, with no money from Cartona unless ``changes`` say so."""
        data = self.order_data(source, status="approved", cartona_credit=0, installment_cost=0, wallet_top_up=0)
        for line in data["order_details"]:
            line["applied_cartona_discount"] = 0
        data.update(changes)
        return data

    def import_and_deliver(self, data, user=None):
        with trap_jobs():
            self.pull([data])
            sale = self.sale(data["hashed_id"])
            self.assertEqual(sale.state, "sale")
            picking = sale.picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))
            for move in picking.move_ids:
                move.quantity = move.product_uom_qty
                move.picked = True
            result = picking.with_user(user or self.env.user).with_context(skip_backorder=True).button_validate()
        self.assertIs(result, True)
        self.assertEqual(picking.state, "done")
        return sale

    def bookings(self, sale):
        return self.env["marketplace.invoicing"]._bookings(sale)

    def receive_return(self, sale, quantities=None):
        """The warehouse receives the return the connector prepared: all of
        it, or ``quantities`` ({product: quantity in the product's unit})."""
        returns = sale.picking_ids.filtered(lambda p: p.picking_type_code == "incoming" and p.state != "done")
        self.assertEqual(len(returns), 1, "one return prepared")
        for move in returns.move_ids:
            move.quantity = move.product_uom_qty if quantities is None else quantities.get(move.product_id, 0.0)
            move.picked = True
        with trap_jobs():
            returns.with_user(self.clerk).with_context(skip_backorder=True, cancel_backorder=True).button_validate()
        self.assertEqual(returns.state, "done")
        return returns

    def assert_lines(self, move, expected):
        """``expected``: (account, partner, debit, credit, reconciled) per line, in any order."""

        def key(values):
            return (values[0].id, values[1].id, values[2], values[3])

        got = [
            (line.account_id, line.partner_id, line.debit, line.credit, line.reconciled)
            for line in move.line_ids
            if line.account_type in ("asset_receivable", "liability_payable")
        ]
        self.assertEqual(sorted(got, key=key), sorted(expected, key=key))


class TestInvoicing(InvoicingCase):
    def test_off_by_default_invoices_nothing(self):
        self.config.invoice_mode = "off"
        sale = self.import_and_deliver(self.order())
        self.assertFalse(sale.invoice_ids)
        self.assertEqual(self.bookings(sale), {})

    def test_cash_order_is_invoiced_when_a_clerk_without_accounting_rights_delivers(self):
        self.assertFalse(self.clerk.has_group("account.group_account_invoice"))
        sale = self.import_and_deliver(self.order(), self.clerk)
        invoice = self.bookings(sale)["invoice"]
        self.assertEqual(set(self.bookings(sale)), {"invoice"})
        self.assertEqual(invoice, sale.invoice_ids)
        self.assertEqual((invoice.state, invoice.move_type), ("posted", "out_invoice"))
        self.assertEqual(invoice.amount_total, 1370.0)
        self.assertEqual(invoice.amount_total, sale.cartona_total_price)
        retailer = sale.partner_id
        self.assert_lines(invoice, [(self.receivable, retailer, 1370.0, 0.0, False)])
        self.assertEqual(invoice.payment_state, "not_paid")

    def test_cartona_credit_is_owed_by_cartona_and_settled_on_the_invoice(self):
        sale = self.import_and_deliver(self.order(cartona_credit=100.5))
        invoice, share = self.bookings(sale)["invoice"], self.bookings(sale)["cartona_share"]
        retailer = sale.partner_id
        self.assertEqual(share.journal_id, self.config.cartona_journal_id)
        self.assertEqual(share.state, "posted")
        self.assert_lines(
            share, [(self.receivable, self.cartona, 100.5, 0.0, False), (self.receivable, retailer, 0.0, 100.5, True)]
        )
        self.assertEqual(invoice.payment_state, "partial")
        self.assertEqual(invoice.amount_residual, 1269.5)

    def test_cartona_funded_discounts_are_owed_by_cartona_on_top_of_the_invoice(self):
        # The offer: the same product at 175 (Cartona funds 5 a piece, 2 pieces) and at 200.
        # selling_price is after the discount: the retailer pays the whole 1370.
        sale = self.import_and_deliver(self.order_data("Lr4tN8wQ", cartona_credit=0))
        self.assertEqual(sale.cartona_discount_total, 10.0)
        self.assertEqual(sale.cartona_share_amount, 0.0)
        booked = self.bookings(sale)
        self.assertEqual(set(booked), {"invoice", "cartona_discount"})
        invoice, discount = booked["invoice"], booked["cartona_discount"]
        self.assertEqual(invoice.amount_total, 1370.0)
        self.assertEqual(sorted(invoice.invoice_line_ids.mapped("price_unit")), [2.0, 175.0, 200.0])
        self.assertEqual((invoice.amount_residual, invoice.payment_state), (1370.0, "not_paid"))
        self.assertEqual(sale.partner_id.credit, 1370.0, "the retailer owes what it pays: total - credit")
        self.assertEqual((discount.journal_id, discount.state), (self.config.cartona_journal_id, "posted"))
        self.assertEqual(discount.cartona_sale_order_id, sale)
        self.assert_lines(discount, [(self.receivable, self.cartona, 10.0, 0.0, False)])
        soda_income = invoice.invoice_line_ids.filtered(lambda line: line.product_id == self.soda).account_id
        self.assertEqual(soda_income, self.company_data["default_account_revenue"])
        income = discount.line_ids.filtered(lambda line: line.account_id == soda_income)
        self.assertEqual((income.debit, income.credit), (0.0, 10.0))
        self.assertEqual(self.cartona.credit, 10.0)

    def test_credit_and_discounts_on_two_income_accounts(self):
        sugar_income = self.company_data["default_account_revenue"].copy({"code": "400100"})
        self.sugar.property_account_income_id = sugar_income
        data = self.order_data("Lr4tN8wQ", status="approved", cartona_credit=100)
        data["order_details"][2]["applied_cartona_discount"] = 0.5  # 10 kg of sugar: 5
        sale = self.import_and_deliver(data)
        self.assertEqual((sale.cartona_discount_total, sale.cartona_share_amount), (15.0, 100.0))
        booked = self.bookings(sale)
        self.assertEqual(set(booked), {"invoice", "cartona_share", "cartona_discount"})
        self.assertEqual(booked["invoice"].amount_residual, 1270.0)
        self.assert_lines(
            booked["cartona_share"],
            [(self.receivable, self.cartona, 100.0, 0.0, False), (self.receivable, sale.partner_id, 0.0, 100.0, True)],
        )
        income = booked["cartona_discount"].line_ids.filtered(lambda line: line.account_type == "income")
        self.assertEqual(
            sorted((line.account_id.code, line.credit) for line in income),
            [(self.company_data["default_account_revenue"].code, 10.0), ("400100", 5.0)],
        )
        self.assertEqual(self.cartona.credit, 115.0)

    def test_installment_order_with_otp_and_wallet_top_up(self):
        # Credit 80 + installment 2400 = the whole total; the retailer pays the 50 top-up in cash.
        sale = self.import_and_deliver(self.order_data("Qx7mK2aP", status="approved"))
        self.assertTrue(sale.cartona_otp_required)
        booked = self.bookings(sale)
        self.assertEqual(set(booked), {"invoice", "cartona_share", "top_up"})
        invoice, retailer = booked["invoice"], sale.partner_id
        self.assertEqual(invoice.amount_total, 2480.0)
        self.assert_lines(invoice, [(self.receivable, retailer, 2480.0, 0.0, True)])
        self.assertEqual(invoice.payment_state, "paid")
        self.assert_lines(
            booked["cartona_share"],
            [(self.receivable, self.cartona, 2480.0, 0.0, False), (self.receivable, retailer, 0.0, 2480.0, True)],
        )
        self.assert_lines(
            booked["top_up"],
            [(self.receivable, retailer, 50.0, 0.0, False), (self.cartona_payable, self.cartona, 0.0, 50.0, False)],
        )
        self.assertEqual(self.cartona_payable.account_type, "liability_payable")
        self.assertEqual(booked["top_up"].cartona_sale_order_id, sale)
        self.assertEqual(retailer.credit, 50.0, "the retailer owes the top-up in cash")

    def test_cartona_collects_the_cash_on_the_orders_it_delivers(self):
        # Credit 80, the retailer's 2400 in cash and a top-up of 50, all to Cartona's courier.
        data = self.order_data("Qx7mK2aP", status="approved", installment_cost=0, delivered_by="delivered_by_cartona")
        self.assertTrue(self.config.cartona_collects_cash, "on by default")
        sale = self.import_and_deliver(data)
        booked = self.bookings(sale)
        self.assertEqual(set(booked), {"invoice", "cartona_share"}, "no top-up: it never passes through us")
        self.assert_lines(
            booked["cartona_share"],
            [
                (self.receivable, self.cartona, 2480.0, 0.0, False),
                (self.receivable, sale.partner_id, 0.0, 2480.0, True),
            ],
        )
        self.assertEqual(booked["invoice"].payment_state, "paid")
        self.assertEqual(sale.partner_id.credit, 0.0)
        wizard = self.env["marketplace.settlement.wizard"].create({"config_id": self.config.id})
        self.assertEqual((wizard.cartona_owes, wizard.supplier_owes, wizard.net_amount), (2480.0, 0.0, 2480.0))

    def test_the_retailer_owes_its_cash_when_cartona_does_not_collect_it(self):
        self.config.cartona_collects_cash = False
        data = self.order_data("Qx7mK2aP", status="approved", installment_cost=0, delivered_by="delivered_by_cartona")
        sale = self.import_and_deliver(data)
        self.assertEqual(set(self.bookings(sale)), {"invoice", "cartona_share", "top_up"})
        self.assertEqual(sale.partner_id.credit, 2450.0, "2400 of goods and the 50 top-up")
        self.assertEqual((self.cartona.credit, self.cartona.debit), (80.0, 50.0), "owes 80, is owed the top-up")

    def test_wallet_top_up_alone(self):
        sale = self.import_and_deliver(self.order(wallet_top_up=30))
        booked = self.bookings(sale)
        self.assertEqual(set(booked), {"invoice", "top_up"})
        self.assert_lines(
            booked["top_up"],
            [
                (self.receivable, sale.partner_id, 30.0, 0.0, False),
                (self.cartona_payable, self.cartona, 0.0, 30.0, False),
            ],
        )
        self.assertEqual(booked["invoice"].payment_state, "not_paid")

    def test_box_of_12_line_is_invoiced_in_boxes(self):
        sale = self.import_and_deliver(self.order_data("Qx7mK2aP", status="approved"))
        line = self.bookings(sale)["invoice"].invoice_line_ids.filtered(lambda x: x.product_id == self.oil)
        self.assertEqual(
            (line.product_uom_id, line.quantity, line.price_unit, line.price_total), (self.box12, 4.0, 470.0, 1880.0)
        )
        self.assertEqual(sale.picking_ids.move_ids.filtered(lambda m: m.product_id == self.oil).product_qty, 48.0)

    def test_price_included_tax_keeps_cartona_s_total(self):
        tax = self.env["account.tax"].create(
            {"name": "VAT 14% incl.", "amount": 14, "price_include_override": "tax_included"}
        )
        self.config.tax_ids = tax
        sale = self.import_and_deliver(self.order_data("Qx7mK2aP", status="approved"))
        invoice = self.bookings(sale)["invoice"]
        self.assertEqual(invoice.amount_total, 2480.0)
        self.assertEqual(invoice.amount_tax, 304.56)
        self.assertEqual(invoice.payment_state, "paid")

    def test_each_line_carries_its_product_s_vat_and_the_total_stays_cartona_s(self):
        vat = self.env["account.tax"].create({"name": "VAT 14%", "amount": 14, "type_tax_use": "sale"})
        included = self.env["account.tax"].create(
            {"name": "VAT 5% incl.", "amount": 5, "type_tax_use": "sale", "price_include_override": "tax_included"}
        )
        self.soda.taxes_id = vat  # price-excluded: the unit price is brought back
        self.config.tax_ids = included  # for the sugar, which has no tax of its own
        sale = self.import_and_deliver(self.order())
        soda = sale.order_line.filtered(lambda line: line.product_id == self.soda)
        sugar = sale.order_line.filtered(lambda line: line.product_id == self.sugar)
        self.assertEqual((soda.tax_id, sugar.tax_id), (vat, included))
        # 5 boxes at 200: 175.44 before tax is the nearest unit price Odoo keeps, a cent off.
        self.assertEqual(sorted(soda.mapped("price_total")), [350.0, 1000.01], "Cartona's line totals, to a cent")
        self.assertEqual(sorted(soda.mapped("price_unit")), [153.51, 175.44])
        self.assertEqual(sale.amount_total, 1370.01)
        self.assertEqual(sale.amount_tax, 166.74, "42.98 + 122.81 on the soda, 0.95 on the sugar")
        # The cent is stated on the order, and ends on a line of its own on the invoice.
        self.assertTrue(self.logs(("status", "=", "warning"), ("message", "like", "differs from Cartona's")))
        invoice = self.bookings(sale)["invoice"]
        rounding = invoice.invoice_line_ids.filtered(lambda line: not line.product_id)
        self.assertEqual((rounding.name, rounding.price_total), ("Rounding to Cartona's total price", -0.01))
        self.assertEqual(invoice.amount_total, 1370.0, "the retailer owes Cartona's total")
        self.assertFalse(
            sale.activity_ids.filtered(lambda a: a.summary == "Cartona: invoice differs from Cartona's total")
        )

    def test_cartona_funded_discounts_bear_the_vat_of_their_product(self):
        vat = self.env["account.tax"].create({"name": "VAT 14%", "amount": 14, "type_tax_use": "sale"})
        self.soda.taxes_id = vat
        data = self.order_data("Lr4tN8wQ", status="approved", cartona_credit=0)
        sale = self.import_and_deliver(data)  # Cartona funds 10 off the soda
        discount = self.bookings(sale)["cartona_discount"]
        self.assert_lines(discount, [(self.receivable, self.cartona, 10.0, 0.0, False)])
        tax_line = discount.line_ids.filtered("tax_line_id")
        self.assertEqual((tax_line.tax_line_id, tax_line.credit), (vat, 1.23))
        income = discount.line_ids.filtered(lambda line: line.tax_ids == vat)
        self.assertEqual((income.account_id.account_type, income.credit), ("income", 8.77))
        # Returned and received: the VAT goes back with the discount.
        with trap_jobs():
            self.pull([dict(data, status="returned")])
        self.receive_return(sale)
        reversal = self.bookings(sale)["cartona_discount_reversal"]
        self.assertEqual(reversal.line_ids.filtered("tax_line_id").debit, 1.23)
        self.env.invalidate_all()
        self.assertEqual((self.cartona.credit, self.cartona.debit), (0.0, 0.0))

    def test_backorder_cancelled_later_invoices_what_was_delivered(self):
        (self.soda | self.sugar).invoice_policy = "delivery"
        data = self.order()
        with trap_jobs():
            self.pull([data])
            sale = self.sale(data["hashed_id"])
            picking = sale.picking_ids
            for move in picking.move_ids:
                sugar = move.product_id == self.sugar
                move.quantity = move.product_uom_qty if sugar else 0
                move.picked = sugar
            action = picking.button_validate()
            Form(self.env[action["res_model"]].with_context(**action["context"])).save().process()
            self.assertEqual(self.bookings(sale), {}, "part of the order is still to deliver")
            backorder = sale.picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))
            backorder.with_user(self.clerk).action_cancel()
        invoice = self.bookings(sale)["invoice"]
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.invoice_line_ids.filtered("quantity").product_id, self.sugar)

    def test_cancellation_after_invoicing_credits_everything_back_once(self):
        # Cartona delivers the order and the supplier leaves its stock to a
        # person: Cartona's "delivered" invoices it with no delivery done, so
        # Cartona's cancellation afterwards does cancel it. The retailer pays
        # the top-up to the supplier here, not to Cartona's courier.
        self.config.custom_state_mapping = '{"delivered": "sale"}'
        self.config.cartona_collects_cash = False
        data = self.order_data("Qx7mK2aP", status="approved", delivered_by="delivered_by_cartona")
        with trap_jobs():
            self.pull([data])
            self.pull([dict(data, status="delivered")])
        sale = self.sale(data["hashed_id"])
        self.assertEqual(set(self.bookings(sale)), {"invoice", "cartona_share", "top_up"})
        retailer = sale.partner_id
        with trap_jobs():
            self.pull([dict(data, status="cancelled_by_retailer")])
        self.assertEqual(sale.state, "cancel")
        booked = self.bookings(sale)
        self.assertEqual(
            set(booked), {"invoice", "cartona_share", "top_up", "refund", "cartona_share_reversal", "top_up_reversal"}
        )
        refund = booked["refund"]
        self.assertEqual((refund.move_type, refund.state, refund.amount_total), ("out_refund", "posted", 2480.0))
        self.assertEqual(booked["invoice"].payment_state, "reversed")
        self.assert_lines(
            booked["cartona_share_reversal"],
            [(self.receivable, self.cartona, 0.0, 2480.0, True), (self.receivable, retailer, 2480.0, 0.0, True)],
        )
        self.assert_lines(
            booked["top_up_reversal"],
            [(self.receivable, retailer, 0.0, 50.0, True), (self.cartona_payable, self.cartona, 50.0, 0.0, True)],
        )
        for move in booked.values():
            self.assertTrue(all(line.reconciled for line in move.line_ids if line.account_id.reconcile))
        self.assertEqual(
            (retailer.credit, retailer.debit, self.cartona.credit, self.cartona.debit), (0.0, 0.0, 0.0, 0.0)
        )
        # Cartona says it again, or returns it: nothing more.
        with trap_jobs():
            self.pull([dict(data, status="cancelled_by_retailer", note_message="again")])
        self.assertEqual(self.bookings(sale), booked)

    def test_cancellation_of_a_delivered_order_leaves_its_invoice(self):
        # The import refuses to cancel what is delivered (an activity asks a
        # person): the money stays where the goods went.
        data = self.order_data("Qx7mK2aP", status="approved")
        sale = self.import_and_deliver(data)
        booked = self.bookings(sale)
        self.assertEqual(set(booked), {"invoice", "cartona_share", "top_up"})
        with trap_jobs():
            self.pull([dict(data, status="delivered")])
            self.pull([dict(data, status="cancelled_by_retailer")])
        self.assertEqual((sale.state, sale.marketplace_status), ("sale", "cancelled_by_retailer"))
        self.assertIn("Cartona cancelled a delivered order", sale.activity_ids.mapped("summary"))
        self.assertEqual(self.bookings(sale), booked)
        self.assertEqual(booked["invoice"].state, "posted")
        self.assertFalse(self.logs(("operation_type", "=", "invoicing"), ("message", "like", "credited back")))

    def test_discounts_booked_once_and_reversed_on_return(self):
        data = self.order_data("Lr4tN8wQ", status="approved", cartona_credit=0)
        sale = self.import_and_deliver(data)
        booked = self.bookings(sale)
        invoicing = self.env["marketplace.invoicing"]
        with trap_jobs():
            self.pull([dict(data, status="delivered")])
            self.pull([dict(data, status="delivered", note_message="changed")])
            invoicing._invoice_delivered(sale)
            invoicing._book_cartona_part(sale, booked["invoice"])
        self.assertEqual(self.bookings(sale), booked)
        with trap_jobs():
            self.pull([dict(data, status="returned")])
        self.assertEqual(self.bookings(sale), booked, "the money waits for the goods")
        self.receive_return(sale)
        booked = self.bookings(sale)
        self.assertEqual(set(booked), {"invoice", "cartona_discount", "refund", "cartona_discount_reversal"})
        reversal = booked["cartona_discount_reversal"]
        self.assertEqual(reversal.state, "posted")
        self.assert_lines(reversal, [(self.receivable, self.cartona, 0.0, 10.0, True)])
        self.assertTrue(booked["cartona_discount"].line_ids.filtered("account_id.reconcile").reconciled)
        self.assertEqual((self.cartona.credit, self.cartona.debit), (0.0, 0.0))
        self.assertEqual(sale.partner_id.credit, 0.0)

    def test_an_invoice_posted_before_discount_entries_books_them_no_second_time(self):
        # Before discount entries, Cartona's share entry carried the discounts:
        # such an invoice posted again must not book them a second time.
        data = self.order_data("Lr4tN8wQ", status="approved", cartona_credit=100)
        sale = self.import_and_deliver(data)
        booked = self.bookings(sale)
        self.assertIn("cartona_share", booked)
        self.env.cr.execute(
            "UPDATE account_move SET cartona_move_kind = NULL WHERE id = %s", [booked["cartona_discount"].id]
        )
        self.env.invalidate_all()
        self.env["marketplace.invoicing"]._book_cartona_part(sale, booked["invoice"])
        self.assertNotIn("cartona_discount", self.bookings(sale))

    def test_repeated_pull_books_once(self):
        # Cartona delivers this one: its "delivered" validates the delivery and invoices.
        self.config.import_final_orders_live = True  # first seen delivered, imported live
        data = self.order_data("Pz2cV6yE", status="delivered")
        with trap_jobs():
            self.pull([data])
            sale = self.sale("Pz2cV6yE")
            self.assertEqual(sale.picking_ids.mapped("state"), ["done"])
            booked = self.bookings(sale)
            self.assertEqual(set(booked), {"invoice", "cartona_share"}, "Cartona's courier collects the 7800")
            self.assertEqual(booked["invoice"].amount_total, 7800.0)
            self.pull([data])
            self.pull([dict(data, note_message="changed")])
            self.env["marketplace.invoicing"]._invoice_delivered(sale)
            self.env["marketplace.invoicing"]._on_cartona_status(sale, "delivered")
        self.assertEqual(self.bookings(sale), booked)
        self.assertEqual(len(sale.invoice_ids), 1)

    def test_one_booking_per_order_and_kind_in_the_database(self):
        sale = self.import_and_deliver(self.order())
        invoice = self.bookings(sale)["invoice"]
        with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.errors.UniqueViolation):
            invoice.copy({"cartona_sale_order_id": sale.id, "cartona_move_kind": "invoice"})
            self.env.flush_all()

    def test_draft_invoices_book_cartona_s_part_when_posted(self):
        self.config.invoice_mode = "draft"
        sale = self.import_and_deliver(self.order(cartona_credit=100))
        invoice = self.bookings(sale)["invoice"]
        self.assertEqual(invoice.state, "draft")
        self.assertEqual(set(self.bookings(sale)), {"invoice"})
        invoice.action_post()
        self.assertEqual(set(self.bookings(sale)), {"invoice", "cartona_share"})
        self.assertEqual(invoice.amount_residual, 1270.0)

    def test_failure_leaves_the_delivery_done_with_an_activity(self):
        data = self.order()
        with trap_jobs():
            self.pull([data])
        sale = self.sale(data["hashed_id"])
        # No sales journal: Odoo cannot make the invoice.
        self.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", sale.company_id.id)]
        ).active = False
        delivered = self.import_and_deliver(data, self.clerk)
        self.assertEqual(delivered, sale)
        self.assertFalse(self.bookings(sale))
        self.assertEqual(sale.activity_ids.mapped("summary"), ["Cartona: invoice by hand"])
        self.assertTrue(self.logs(("operation_type", "=", "invoicing"), ("status", "=", "error")))

    def test_setup_is_created_once_and_shared(self):
        journal = self.config.cartona_journal_id
        self.assertEqual((journal.type, journal.company_id), ("general", self.env.company))
        other = self.env["marketplace.config"].create(
            {"name": "Wholesale", "api_base_url": "http://127.0.0.1:8069/", "invoice_mode": "draft"}
        )
        self.assertEqual((other.cartona_partner_id, other.cartona_journal_id), (self.cartona, journal))

    def test_setup_picks_a_free_journal_code(self):
        company = self.setup_other_company()["company"]
        self.env["account.journal"].create(
            {"name": "Cash (Cartona)", "code": "CRTN", "type": "cash", "company_id": company.id}
        )
        other = self.env["marketplace.config"].create(
            {
                "name": "Other company",
                "api_base_url": "http://127.0.0.1:8069/",
                "invoice_mode": "draft",
                "company_id": company.id,
            }
        )
        journal = other.cartona_journal_id
        self.assertEqual((journal.code, journal.type, journal.company_id), ("CRT1", "general", company))


class TestInvoicesByHand(InvoicingCase):
    """Cartona's part follows the invoice, whoever made it and whatever happens to it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        cls.accountant = make_user(
            cls.env,
            "accountant",
            groups=("account.group_account_invoice", "sales_team.group_sale_salesman_all_leads"),
            company_id=company.id,
            company_ids=[(6, 0, company.ids)],
        )

    def invoice_by_hand(self, sale):
        """Odoo's "Create invoice" on the order, then "Confirm", as an accountant."""
        wizard = (
            self.env["sale.advance.payment.inv"]
            .with_user(self.accountant)
            .with_context(active_model="sale.order", active_ids=sale.ids)
            .create({"advance_payment_method": "delivered"})
        )
        wizard.create_invoices()
        invoice = sale.invoice_ids.filtered(lambda move: move.state == "draft")
        invoice.with_user(self.accountant).action_post()
        return invoice

    def installment_order(self):
        # Credit 80 + installment 2400: Cartona pays the whole 2480; the retailer the top-up of 50.
        return self.order_data("Qx7mK2aP", status="approved")

    def test_hand_made_invoice_books_cartona_s_part(self):
        self.config.invoice_mode = "off"
        sale = self.import_and_deliver(self.order(cartona_credit=100))
        self.assertFalse(sale.invoice_ids)
        invoice = self.invoice_by_hand(sale)
        booked = self.bookings(sale)
        self.assertEqual(set(booked), {"invoice", "cartona_share"})
        self.assertEqual(booked["invoice"], invoice)
        self.assertEqual(invoice.amount_residual, 1270.0)
        self.assert_lines(
            booked["cartona_share"],
            [(self.receivable, self.cartona, 100.0, 0.0, False), (self.receivable, sale.partner_id, 0.0, 100.0, True)],
        )

    def test_invoice_at_confirmation_books_cartona_s_part_once(self):
        with trap_jobs():
            self.pull([self.installment_order()])
        sale = self.sale("Qx7mK2aP")
        self.assertEqual(sale.state, "sale")
        invoice = self.invoice_by_hand(sale)
        self.assertEqual(set(self.bookings(sale)), {"invoice", "cartona_share", "top_up"})
        self.assertEqual(invoice.payment_state, "paid", "Cartona pays the whole invoice")
        booked = self.bookings(sale)
        self.import_and_deliver(self.installment_order())
        self.assertEqual(self.bookings(sale), booked)
        self.assertEqual(sale.invoice_ids, invoice, "the delivery invoices nothing more")
        self.assertFalse(sale.activity_ids.filtered(lambda a: a.summary == "Cartona: invoice by hand"))
        self.assertEqual(sale.invoice_status, "invoiced")

    def test_returned_mapped_to_cancel_credits_the_invoice(self):
        # The supplier maps Cartona's "returned" to a cancellation: the order
        # is cancelled by the mapping, and its invoice credited all the same.
        self.config.custom_state_mapping = '{"returned": "cancel"}'
        with trap_jobs():
            self.pull([self.installment_order()])
        sale = self.sale("Qx7mK2aP")
        self.invoice_by_hand(sale)
        with trap_jobs():
            self.pull([dict(self.installment_order(), status="returned")])
        self.assertEqual(sale.state, "cancel")
        self.assertIn("refund", self.bookings(sale), "the invoice is credited with its order")

    def test_reset_to_draft_and_post_again_matches_cartona_s_part_again(self):
        sale = self.import_and_deliver(self.installment_order())
        booked = self.bookings(sale)
        invoice = booked["invoice"]
        invoice.with_user(self.accountant).button_draft()
        self.assertEqual(invoice.amount_residual, 2480.0, "Odoo unreconciles on reset")
        invoice.with_user(self.accountant).action_post()
        self.assertEqual(self.bookings(sale), booked)
        self.assertEqual((invoice.payment_state, invoice.amount_residual), ("paid", 0.0))
        self.assertEqual(sale.partner_id.credit, 50.0, "the retailer owes the top-up only")
        self.assertEqual(self.cartona.credit, 2480.0)

    def test_reset_to_draft_and_cancel_reverses_what_was_booked_on_it(self):
        sale = self.import_and_deliver(self.installment_order())
        booked = self.bookings(sale)
        self.assertEqual(set(booked), {"invoice", "cartona_share", "top_up"})
        invoice = booked["invoice"]
        invoice.with_user(self.accountant).button_draft()
        invoice.with_user(self.accountant).button_cancel()
        self.assertEqual(invoice.state, "cancel")
        retailer = sale.partner_id
        self.assertEqual(
            (retailer.credit, retailer.debit, self.cartona.credit, self.cartona.debit), (0.0, 0.0, 0.0, 0.0)
        )
        entries = self.env["account.move"].search([("cartona_sale_order_id", "=", sale.id), ("state", "=", "posted")])
        self.assertEqual(len(entries), 4, "Cartona's part and the top-up, each with its reversal")
        self.assertTrue(all(entries.line_ids.filtered("account_id.reconcile").mapped("reconciled")))
        self.assertEqual(self.bookings(sale), {}, "closed: the order is free for its next invoice")
        # Invoiced again by hand: Cartona's part is booked on the new invoice, once.
        again = self.invoice_by_hand(sale)
        self.assertEqual(set(self.bookings(sale)), {"invoice", "cartona_share", "top_up"})
        self.assertEqual(self.bookings(sale)["invoice"], again)
        self.assertEqual(again.payment_state, "paid")
        self.env.invalidate_all()
        self.assertEqual((retailer.credit, self.cartona.credit), (50.0, 2480.0))

    def test_short_delivery_bills_what_was_delivered(self):
        data = self.order()
        with trap_jobs() as trap:
            self.pull([data])
            sale = self.sale(data["hashed_id"])
            picking = sale.picking_ids
            for move in picking.move_ids:
                # The driver delivered 6 of the 10 kg of sugar; no backorder.
                move.quantity = 6 if move.product_id == self.sugar else move.product_uom_qty
                move.picked = True
            action = picking.with_user(self.clerk).button_validate()
            wizard = Form(self.env[action["res_model"]].with_context(**action["context"])).save()
            wizard.with_user(self.clerk).process_cancel_backorder()
            pushed = [job.args for job in trap.enqueued_jobs if job.method_name == "_push_marketplace_status"]
            self.assertIn(("delivered",), pushed, "Cartona is told delivered")
        invoice = self.bookings(sale)["invoice"]
        sugar = invoice.invoice_line_ids.filtered(lambda line: line.product_id == self.sugar)
        self.assertEqual(sugar.quantity, 6.0)
        self.assertEqual(invoice.amount_total, 1362.0, "1370 less 4 kg at 2")
        self.assertEqual(sale.partner_id.credit, 1362.0, "the retailer owes what it received")
        self.assertEqual(sale.invoice_status, "no", "the 4 kg never delivered are not to invoice")
        differs = sale.activity_ids.filtered(lambda a: a.summary == "Cartona: invoice differs from Cartona's total")
        self.assertEqual(len(differs), 1)
        self.env["marketplace.invoicing"]._invoice_delivered(sale)
        self.assertEqual(len(sale.activity_ids.filtered(lambda a: a.summary == differs.summary)), 1)


class TestSettlement(InvoicingCase):
    def test_statement_and_settlement_reconcile(self):
        credit = self.import_and_deliver(self.order(cartona_credit=100))
        top_up = self.import_and_deliver(
            self.order_data("Qx7mK2aP", status="approved", cartona_credit=0, installment_cost=2480)
        )
        wizard = self.env["marketplace.settlement.wizard"].create(
            {"config_id": self.config.id, "journal_id": self.company_data["default_journal_bank"].id}
        )
        self.assertEqual(
            wizard.line_ids.move_id.cartona_sale_order_id, credit | top_up, "one statement line per order and booking"
        )
        self.assertEqual((wizard.cartona_owes, wizard.supplier_owes, wizard.net_amount), (2580.0, 50.0, 2530.0))
        self.assertEqual(wizard.amount, 2530.0)
        wizard.action_register_settlement()
        self.assertTrue(all(wizard.line_ids.mapped("reconciled")))
        self.assertEqual((self.cartona.credit, self.cartona.debit), (0.0, 0.0))
        payment = self.env["account.payment"].search([("partner_id", "=", self.cartona.id)])
        self.assertEqual((payment.amount, payment.payment_type), (2530.0, "inbound"))

    def test_discounts_are_in_the_statement_and_settled(self):
        sale = self.import_and_deliver(self.order_data("Lr4tN8wQ", status="approved", cartona_credit=0))
        wizard = self.env["marketplace.settlement.wizard"].create(
            {"config_id": self.config.id, "journal_id": self.company_data["default_journal_bank"].id}
        )
        self.assertEqual(wizard.line_ids.move_id, self.bookings(sale)["cartona_discount"])
        self.assertEqual((wizard.cartona_owes, wizard.supplier_owes, wizard.amount), (10.0, 0.0, 10.0))
        wizard.action_register_settlement()
        self.assertTrue(all(wizard.line_ids.mapped("reconciled")))
        self.assertEqual((self.cartona.credit, self.cartona.debit), (0.0, 0.0))
        self.assertEqual(sale.partner_id.credit, 1370.0, "the retailer still owes its invoice")

    def test_a_payment_left_open_by_a_return_is_in_the_next_statement(self):
        bank = self.company_data["default_journal_bank"]
        data = self.order_data("Lr4tN8wQ", status="approved", cartona_credit=0)
        returned = self.import_and_deliver(data)  # Cartona funds 10 of discounts
        wizard = self.env["marketplace.settlement.wizard"].create({"config_id": self.config.id, "journal_id": bank.id})
        self.assertEqual(wizard.amount, 10.0)
        wizard.action_register_settlement()
        # Returned: the discounts are reversed, and the 10 Cartona paid is open again, in the bank journal.
        with trap_jobs():
            self.pull([dict(data, status="returned")])
        self.receive_return(returned)
        self.assertIn("cartona_discount_reversal", self.bookings(returned))
        sale = self.import_and_deliver(self.order(hashed_id="Nx1", cartona_credit=100))
        wizard = self.env["marketplace.settlement.wizard"].create({"config_id": self.config.id, "journal_id": bank.id})
        self.assertEqual((wizard.cartona_owes, wizard.net_amount, wizard.amount), (90.0, 90.0, 90.0))
        self.assertIn(bank, wizard.line_ids.filtered(lambda line: not line.reconciled).journal_id)
        wizard.action_register_settlement()
        self.env.invalidate_all()
        self.assertEqual((self.cartona.credit, self.cartona.debit), (0.0, 0.0))
        self.assertEqual(sale.partner_id.credit, 1270.0)

    def test_a_statement_keeps_to_its_configuration(self):
        # Two Cartona accounts of one company share the Cartona partner: each
        # statement is its own account's, with the payments of none.
        other = self.config.copy({"name": "Other account", "api_base_url": "http://127.0.0.1:8069/other/api/v1/"})
        self.assertEqual(other.cartona_partner_id, self.cartona)
        sale = self.env["sale.order"].create(
            {"partner_id": self.cartona.id, "marketplace_config_id": other.id, "cartona_id": "Other1"}
        )
        entry = self.env["account.move"].create(
            {
                "move_type": "entry",
                "journal_id": other.cartona_journal_id.id,
                "cartona_sale_order_id": sale.id,
                "line_ids": [
                    Command.create(
                        {
                            "account_id": self.cartona.property_account_receivable_id.id,
                            "partner_id": self.cartona.id,
                            "debit": 50.0,
                        }
                    ),
                    Command.create({"account_id": self.company_data["default_account_revenue"].id, "credit": 50.0}),
                ],
            }
        )
        entry.action_post()
        mine = self.env["marketplace.settlement.wizard"].create({"config_id": self.config.id})
        theirs = self.env["marketplace.settlement.wizard"].create({"config_id": other.id})
        self.assertFalse(mine.line_ids & entry.line_ids, "another account's booking")
        self.assertTrue(theirs.line_ids & entry.line_ids)


class TestInvoicingCallers(InvoicingCase):
    def test_plain_user_cannot_book_over_rpc(self):
        employee = make_user(self.env, "plain", "employee")
        sale = self.import_and_deliver(self.order())
        invoice = self.bookings(sale)["invoice"]
        wizard = self.env["marketplace.settlement.wizard"].create({"config_id": self.config.id})
        calls = [
            ("account.move", "write", [invoice.ids, {"cartona_move_kind": "refund"}]),
            (
                "account.move",
                "create",
                [[{"move_type": "entry", "cartona_sale_order_id": sale.id, "cartona_move_kind": "top_up"}]],
            ),
            ("marketplace.settlement.wizard", "action_register_settlement", [wizard.ids]),
        ]
        for model, name, args in calls:
            with self.subTest(name), self.raises(AccessError):
                models.check_method_name(name)
                api.call_kw(self.env[model].with_user(employee), name, args, {})
        self.assertEqual(set(self.bookings(sale)), {"invoice"})
