"""Cartona's ``returned``: the retailer refused the goods at the door."""

from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from ..models.marketplace_returns import RETURN_SUMMARY
from .test_invoicing import InvoicingCase


@tagged("post_install", "-at_install")
class TestReturns(InvoicingCase):
    def free(self, product):
        return product.with_context(warehouse_id=self.warehouse.id).free_qty

    def test_return_before_the_delivery_is_validated_frees_the_stock(self):
        data = self.order()
        free = self.free(self.sugar)
        with trap_jobs() as trap:
            self.pull([data])
            sale = self.sale(data["hashed_id"])
            picking = sale.picking_ids
            self.assertEqual(picking.state, "assigned")
            self.assertEqual(self.free(self.sugar), free - 10)
            sale.action_out_for_delivery()
            self.pull([dict(data, status="assigned_to_salesman")])
            self.pull([dict(data, status="returned", return_reason="closed shop")])
        self.assertEqual((sale.state, sale.marketplace_status), ("cancel", "returned"))
        self.assertEqual(picking.state, "cancel")
        self.assertEqual(self.free(self.sugar), free, "the reservation is released")
        self.assertFalse(sale.invoice_ids)
        self.assertEqual(sale.invoice_status, "no")
        self.assertFalse(sale.activity_ids)
        pushed = [job.args for job in trap.enqueued_jobs if job.method_name == "_push_marketplace_status"]
        self.assertNotIn(("cancelled_by_supplier",), pushed, "Cartona is told nothing back")

    def test_return_after_delivery_prepares_odoo_s_return_and_credits_what_comes_back(self):
        data = self.order_data("Qx7mK2aP", status="approved")  # credit, installment and top-up
        sale = self.import_and_deliver(data)
        booked = self.bookings(sale)
        self.assertEqual(set(booked), {"invoice", "cartona_share", "top_up"})
        delivery = sale.picking_ids
        oil = self.oil.qty_available
        with trap_jobs():
            self.pull([dict(data, status="delivered")])
            self.pull([dict(data, status="returned")])
        returns = sale.picking_ids - delivery
        self.assertEqual(
            (returns.picking_type_code, returns.state, returns.return_id), ("incoming", "assigned", delivery)
        )
        self.assertEqual(sorted(returns.move_ids.mapped("product_qty")), [20.0, 48.0])
        self.assertEqual(self.bookings(sale), booked, "the money waits for the goods")
        self.assertEqual(sale.activity_ids.mapped("summary"), [RETURN_SUMMARY])
        self.receive_return(sale)
        self.assertEqual(self.oil.qty_available, oil + 48)
        # Cartona says it again, by its other name: nothing more to return, no new to-do.
        with trap_jobs():
            self.pull([dict(data, status="return")])
        self.assertEqual(len(sale.picking_ids), 2)
        booked = self.bookings(sale)
        self.assertEqual(
            set(booked), {"invoice", "cartona_share", "top_up", "refund", "cartona_share_reversal", "top_up_reversal"}
        )
        self.assertEqual(booked["refund"].amount_total, 2480.0)
        retailer = sale.partner_id
        self.assertEqual(
            (retailer.credit, retailer.debit, self.cartona.credit, self.cartona.debit), (0.0, 0.0, 0.0, 0.0)
        )
        self.assertEqual(sale.invoice_status, "no", "nothing invites a person to invoice it again")
        self.assertFalse(sale.activity_ids, "the return is received")

    def test_part_of_the_goods_back_credits_what_came_back(self):
        data = self.order(cartona_credit=137)  # a tenth of 1370
        sale = self.import_and_deliver(data)
        with trap_jobs():
            self.pull([dict(data, status="returned")])
        # 5 boxes of soda at 200 and 2 at 175 went out; only the 5 boxes come back (120 cans).
        line = sale.order_line.filtered(lambda line: line.price_unit == 200.0)
        returns = sale.picking_ids.filtered(lambda p: p.picking_type_code == "incoming")
        soda_moves = returns.move_ids.filtered(lambda m: m.product_id == self.soda)
        self.assertEqual(len(soda_moves), 2)
        for move in returns.move_ids:
            move.quantity = move.product_uom_qty if move.sale_line_id == line else 0.0
            move.picked = True
        with trap_jobs():
            returns.with_user(self.clerk).with_context(skip_backorder=True, cancel_backorder=True).button_validate()
        self.assertEqual(returns.state, "done")
        self.assertEqual(line.qty_delivered, 0.0)
        booked = self.bookings(sale)
        self.assertEqual(set(booked), {"invoice", "cartona_share", "refund", "cartona_share_reversal"})
        refund = booked["refund"]
        self.assertEqual((refund.move_type, refund.state, refund.amount_total), ("out_refund", "posted", 1000.0))
        # Cartona's part reversed in proportion: 1000 of 1370 came back, so 100 of its 137.
        reversal = booked["cartona_share_reversal"].line_ids
        self.assertEqual(
            sorted((line.partner_id.id, line.debit, line.credit) for line in reversal),
            sorted([(self.cartona.id, 0.0, 100.0), (sale.partner_id.id, 100.0, 0.0)]),
        )
        self.assertTrue(reversal.filtered(lambda line: line.partner_id == self.cartona).reconciled)
        self.assertEqual(self.cartona.credit, 37.0)
        self.assertEqual(sale.partner_id.credit, 333.0, "370 of goods kept, less Cartona's 37")
        self.assertNotEqual(sale.invoice_status, "to invoice")
