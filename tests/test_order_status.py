from datetime import timedelta

from odoo.exceptions import UserError

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import ImportCase


class TestStatusOnImport(ImportCase):
    def _import(self, status, hashed_id=None):
        data = self.order_data("Lr4tN8wQ", hashed_id=hashed_id or f"S-{status}", status=status)
        self.pull([data])
        self.http.reset()
        return self.sale(data["hashed_id"])

    def test_each_status_from_a_fresh_import(self):
        self.config.import_final_orders_live = True  # finished orders first seen, imported live
        expected = {
            "pending": ("draft", None),
            "editing": ("draft", None),
            "approved": ("sale", "assigned"),
            "assigned_to_salesman": ("sale", "assigned"),
            "delivered": ("sale", "done"),
            "cancelled_by_retailer": ("cancel", None),
            "cancelled_by_supplier": ("cancel", None),
            "cancelled": ("cancel", None),
            "returned": ("draft", None),
            "return": ("draft", None),
        }
        for status, (state, picking_state) in expected.items():
            with self.subTest(status=status):
                order = self._import(status)
                self.assertEqual(order.marketplace_status, status)
                self.assertEqual(order.state, state)
                if picking_state:
                    self.assertEqual(set(order.picking_ids.mapped("state")), {picking_state})

    def test_delivered_validates_full_quantities_in_pieces(self):
        self.config.import_final_orders_live = True  # first seen delivered, imported live
        order = self._import("delivered")
        moves = order.picking_ids.move_ids
        soda = moves.filtered(lambda m: m.product_id == self.soda)
        self.assertEqual(sum(soda.mapped("product_qty")), 168, "7 boxes of 24")
        self.assertEqual(soda.mapped("quantity"), soda.mapped("product_uom_qty"))
        self.assertEqual(self.soda.with_context(warehouse_id=self.warehouse.id).qty_available, 10000 - 168)
        self.assertEqual(order.order_line.mapped("qty_delivered"), order.order_line.mapped("product_uom_qty"))

    def test_progression_over_successive_pulls(self):
        order = self._import("pending", "Flow1")
        self.assertEqual(order.state, "draft")
        for status, state in [("approved", "sale"), ("assigned_to_salesman", "sale"), ("delivered", "sale")]:
            self._import(status, "Flow1")
            self.assertEqual((order.marketplace_status, order.state), (status, state))
        self.assertEqual(order.picking_ids.state, "done")
        # A late, older status changes nothing.
        self._import("approved", "Flow1")
        self.assertEqual(order.marketplace_status, "delivered")
        self.assertIn("arrived after delivered", self.logs(("status", "=", "warning"))[0].message)
        # Cancelled after delivery: nothing undone, a person is told.
        self._import("cancelled_by_retailer", "Flow1")
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.picking_ids.state, "done")
        self.assertIn("already delivered", order.activity_ids.note)

    def test_returned_before_the_delivery_is_validated_cancels_the_order(self):
        # The goods came back at the door (tests/test_returns.py has the rest).
        self._import("assigned_to_salesman", "Ret1")
        order = self._import("returned", "Ret1")
        self.assertEqual((order.state, order.marketplace_status), ("cancel", "returned"))
        self.assertEqual(set(order.picking_ids.mapped("state")), {"cancel"})
        self.assertFalse(order.activity_ids)

    def test_custom_mapping_overrides(self):
        self.config.custom_state_mapping = '{"approved": "draft"}'
        self.assertEqual(self._import("approved").state, "draft")

    def test_quotation_lines_follow_cartona(self):
        order = self._import("pending", "Edit1")
        data = self.order_data("Lr4tN8wQ", hashed_id="Edit1", status="pending", total_price=1330)
        data["order_details"][1].update(amount=3, price=180)  # 5 x 200 → 3 x 180
        data["order_details"].pop(2)  # sugar removed
        data["order_details"][0]["amount"] = 4
        data["total_price"] = 4 * 175 + 3 * 180
        self.pull([data])
        lines = order.order_line.sorted("cartona_line_id")
        self.assertEqual(lines.mapped("cartona_line_id"), ["52101", "52102"])
        self.assertEqual(lines.mapped("product_uom_qty"), [4, 3])
        self.assertEqual(lines.mapped("price_unit"), [175, 180])
        self.assertEqual(order.amount_total, data["total_price"])

    def test_confirmed_order_line_change_is_an_activity(self):
        order = self._import("approved", "Edit2")
        data = self.order_data("Lr4tN8wQ", hashed_id="Edit2", status="approved")
        data["order_details"][1]["amount"] = 9
        self.pull([data])
        self.assertEqual(order.order_line.filtered(lambda sol: sol.cartona_line_id == "52102").product_uom_qty, 5)
        self.assertEqual(order.activity_ids.summary, "Cartona changed a confirmed order")


class TestEditingBlocks(ImportCase):
    def test_editing_blocks_confirm_cancel_and_deliver(self):
        self.pull(self.page)
        editing = self.sale("Mn9bH3kT")
        with self.assertRaisesRegex(UserError, "editing"):
            editing.action_confirm()
        with self.assertRaisesRegex(UserError, "editing"):
            editing.action_cancel()
        # Confirmed in Odoo while pending, then the retailer starts editing.
        pending = self.sale("Qx7mK2aP")
        pending.action_confirm()
        self.http.reset()
        self.pull([self.order_data("Qx7mK2aP", status="editing")])
        self.assertEqual(pending.marketplace_status, "editing")
        picking = pending.picking_ids
        with self.assertRaisesRegex(UserError, "editing"):
            picking.button_validate()
        # Back to pending: hands on again.
        self.http.reset()
        self.pull([self.order_data("Qx7mK2aP", status="pending")])
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
        picking.move_ids.picked = True
        picking.button_validate()
        self.assertEqual(picking.state, "done")


class TestPullCron(ImportCase):
    def test_cron_takes_a_page_per_run_and_reports_progress(self):
        self.config.pull_page_size = 2
        watermark = self.config.last_pull_date
        cron = self.env.ref("cartona_marketplace.cron_pull_marketplace_orders")
        self.assertEqual((cron.interval_number, cron.interval_type), (1, "minutes"))
        self.serve_pages(self.page[:2], self.page[2:])
        _cron, progress = cron._add_progress()
        poller = self.env["marketplace.poller"]
        with trap_jobs() as trap:
            self.env["marketplace.order.pull"].with_context(ir_cron_progress_id=progress.id)._cron_pull_orders()
            self.assertEqual((progress.done, progress.remaining), (1, 1))
            self.assertEqual(self.config.pull_next_page, 2)
            trap.assert_jobs_count(1, only=self.config._acknowledge_orders)
            self.assertTrue(self.sale("Lr4tN8wQ"))
            self.assertFalse(self.sale("Pz2cV6yE"))
            # The cron arms the poller, which walks on a page per poll.
            trap.assert_jobs_count(1, only=poller._poll)
            self.env["marketplace.order.pull"]._pull_next_page(self.config)
            self.assertTrue(self.sale("Pz2cV6yE"))
            self.config.invalidate_recordset()  # read from the pull's state again
            self.assertEqual(self.config.pull_next_page, 3)
            self.assertEqual(self.config.last_pull_date, watermark)
            self.env["marketplace.order.pull"]._pull_next_page(self.config)  # an empty page ends the walk
            self.config.invalidate_recordset()
            self.assertEqual(self.config.pull_next_page, 1)
            self.assertEqual(self.config.last_pull_date, watermark, "a walk that acknowledged orders keeps the window")
            self.http.reset()
            self.serve_pages([])
            self.env["marketplace.order.pull"]._pull_next_page(self.config)
        self.config.invalidate_recordset()
        self.assertGreater(self.config.last_pull_date, watermark, "a walk that acknowledged nothing saw everything")
        self.assertEqual(self.config.total_orders_pulled, 4)

    def test_outage_never_makes_the_cron_raise(self):
        self.http.get(self.url("order/pull-orders"), status=503, body="<html>Service Unavailable</html>")
        self.env["marketplace.order.pull"]._cron_pull_orders()
        self.assertIn("503", self.config.last_error)
        self.assertTrue(self.logs(("status", "=", "error"), ("status_code", "=", 503)))
        self.http.reset()
        self.http.get(self.url("order/pull-orders"), status=401, body="revoked")
        self.env["marketplace.order.pull"]._cron_pull_orders()
        self.assertEqual(self.config.connection_status, "error")

    def test_pull_button(self):
        self.serve_pages(self.page)
        action = self.config.action_pull_orders()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("4 created", action["params"]["message"])
        self.http.reset()
        self.http.get(self.url("order/pull-orders"), status=500, body="boom")
        self.assertEqual(self.config.action_pull_orders()["params"]["type"], "danger")

    def test_watermark_bounds_the_next_pull(self):
        self.pull([])
        watermark = self.config.last_pull_date
        self.http.reset()
        self.pull([])
        sent = self.http.calls[0].request.params["from"]
        self.assertEqual(sent, str(watermark.replace(microsecond=0) - timedelta(minutes=60)))
