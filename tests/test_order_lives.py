"""Whole lives of Cartona orders, end to end: Cartona lists the order, the pull
imports it, people confirm, ship, deliver or cancel it in Odoo, every job runs,
and what Cartona is told is asserted, for each status an order arrives in and
both delivery modes."""

from odoo.addons.cartona_marketplace import const
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import StatusPushCase, perform_jobs

SUPPLIER, CARTONA = "Lr4tN8wQ", "Pz2cV6yE"  # delivered by the supplier, by Cartona


class TestOrderLives(StatusPushCase):
    def setUp(self):
        super().setUp()
        self.cartona = self.serve_cartona()
        self.http.post(self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), json=[])  # the stock the orders move

    def listed(self, source, status, **changes):
        """Cartona lists the order at ``status``; the pull imports it, and its jobs run."""
        data = self.order_data(source, status=status, **changes)
        self.cartona.list(data)
        self.act(self.pull_now)
        self.assertIn(data["hashed_id"], self.cartona.acknowledged, "the pull acknowledges what it imported")
        return self.sale(data["hashed_id"])

    def act(self, action, *args):
        """``action`` as a person's transaction: its jobs, queued then or at commit, run."""
        with trap_jobs() as trap:
            result = action(*args)
            self.env.flush_all()
            self.env.cr.precommit.run()
            perform_jobs(trap)
        return result

    def told(self):
        """The status changes Cartona was told since the last call, request by request."""
        told, self.cartona.updates = self.cartona.updates, []
        return [[item for item in request if item["status"] != const.STATUS_SYNCED] for request in told]

    def assert_told(self, *requests):
        self.assertEqual([request for request in self.told() if request], list(requests))

    def deliver(self, order):
        self.act(self._validate, order.picking_ids)
        self.assertEqual(order.picking_ids.state, "done")

    def test_supplier_delivered_order_from_each_status_it_arrives_in(self):
        steps = {
            "pending": ["approved", "assigned_to_salesman", "delivered"],
            "approved": ["assigned_to_salesman", "delivered"],
            "assigned_to_salesman": ["delivered"],
        }
        for n, (arrives, told) in enumerate(steps.items()):
            with self.subTest(arrives=arrives):
                hashed_id = f"Life{n}"
                order = self.listed(SUPPLIER, arrives, hashed_id=hashed_id)
                self.assertEqual(order.delivered_by, "delivered_by_supplier")
                self.assert_told()
                if arrives == "pending":
                    self.act(order.action_confirm)
                if arrives in ("pending", "approved"):
                    self.act(order.action_out_for_delivery)
                self.deliver(order)
                self.assert_told(*([{"hashed_id": hashed_id, "status": status}] for status in told))
                self.assertEqual((order.marketplace_status, order.marketplace_sync_status), ("delivered", "synced"))

    def test_supplier_delivered_order_delivered_without_shipping_first(self):
        order = self.listed(SUPPLIER, "approved")
        self.deliver(order)
        self.assert_told(
            [
                {"hashed_id": SUPPLIER, "status": "assigned_to_salesman"},
                {"hashed_id": SUPPLIER, "status": "delivered"},
            ]
        )
        self.assertEqual(order.marketplace_status, "delivered")

    def test_supplier_cancels_from_each_status_it_may(self):
        for arrives in ("pending", "approved"):
            with self.subTest(arrives=arrives):
                for source in (SUPPLIER, CARTONA):
                    hashed_id = f"{source}{arrives[0]}"
                    order = self.listed(source, arrives, hashed_id=hashed_id)
                    order.cartona_cancellation_reason = "out_of_stock"
                    self.act(order.with_context(disable_cancel_warning=True).action_cancel)
                    self.assert_told(
                        [
                            {
                                "hashed_id": hashed_id,
                                "status": "cancelled_by_supplier",
                                "cancellation_reason": "out_of_stock",
                            }
                        ]
                    )
                    self.assertEqual((order.state, order.marketplace_status), ("cancel", "cancelled_by_supplier"))
                    self.assertEqual(order.picking_ids.mapped("state"), ["cancel"] * len(order.picking_ids))

    def test_the_retailer_cancels_and_odoo_tells_cartona_nothing_back(self):
        for source in (SUPPLIER, CARTONA):
            with self.subTest(source=source):
                order = self.listed(source, "approved")
                self.assertEqual(order.state, "sale")
                self.listed(source, "cancelled_by_retailer", cancellation_reason="delayed_order")
                self.assertEqual((order.state, order.marketplace_status), ("cancel", "cancelled_by_retailer"))
                self.assertEqual(order.picking_ids.mapped("state"), ["cancel"] * len(order.picking_ids))
                self.assert_told()

    def test_cartona_delivered_order_is_told_nothing_but_a_cancellation(self):
        """Cartona's driver ships and delivers: Odoo confirms, then follows the
        statuses Cartona sends, and tells Cartona nothing back (decisions.md,
        section 5; its cancellation is in the test above)."""
        order = self.listed(CARTONA, "pending")
        self.assertEqual(order.delivered_by, "delivered_by_cartona")
        self.act(order.action_confirm)
        self.assertEqual(order.state, "sale")
        self.listed(CARTONA, "assigned_to_salesman")
        self.assertEqual(order.marketplace_status, "assigned_to_salesman")
        self.listed(CARTONA, "delivered")
        self.assertEqual(order.marketplace_status, "delivered")
        self.assertEqual(order.picking_ids.state, "done", "the delivery Cartona made is validated")
        self.assert_told()
