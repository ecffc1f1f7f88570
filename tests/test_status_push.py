from unittest.mock import ANY

from odoo.tests import Form

from odoo.addons.cartona_marketplace import const
from odoo.addons.cartona_marketplace.exceptions import MarketplacePermanentError, MarketplaceRetryableError
from odoo.addons.queue_job.exception import FailedJobError
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import BULK, StatusPushCase, perform_jobs


class TestStatusPush(StatusPushCase):
    def test_supplier_delivered_order_syncs_its_whole_life(self):
        order = self._import(status="pending")
        self.http.post(self.url(BULK), json=[])
        with trap_jobs() as trap:
            order.action_confirm()
            trap.assert_jobs_count(1, only=order._push_marketplace_status)
            trap.assert_enqueued_job(order._push_marketplace_status, args=("approved",))
            perform_jobs(trap)
        self.assertEqual(self._sent(), [[{"hashed_id": "Lr4tN8wQ", "status": "approved"}]])
        self.assertEqual((order.marketplace_status, order.marketplace_sync_status), ("approved", "synced"))
        self.http.calls.reset()
        with trap_jobs() as trap:
            order.action_out_for_delivery()
            perform_jobs(trap)
            self._validate(order.picking_ids)
            perform_jobs(trap)
        self.assertEqual(
            self._sent(),
            [
                [{"hashed_id": "Lr4tN8wQ", "status": "assigned_to_salesman"}],
                [{"hashed_id": "Lr4tN8wQ", "status": "delivered"}],
            ],
        )
        self.assertEqual(order.marketplace_status, "delivered")

    def test_delivered_is_preceded_by_out_for_delivery_in_one_request(self):
        order = self._import(status="approved")
        self.http.post(self.url(BULK), json=[])
        with trap_jobs() as trap:
            self._validate(order.picking_ids)
            trap.assert_jobs_count(1, only=order._push_marketplace_status)
            perform_jobs(trap)
        self.assertEqual(
            self._sent(),
            [
                [
                    {"hashed_id": "Lr4tN8wQ", "status": "assigned_to_salesman"},
                    {"hashed_id": "Lr4tN8wQ", "status": "delivered"},
                ]
            ],
        )

    def test_reservation_alone_never_means_shipped(self):
        order = self._import(status="approved")
        with trap_jobs() as trap:
            order.picking_ids.do_unreserve()
            order.picking_ids.action_assign()
            trap.assert_jobs_count(0, only=order._push_marketplace_status)

    def test_multi_step_pick_means_out_for_delivery(self):
        self.warehouse.delivery_steps = "pick_ship"
        order = self._import(status="approved")
        pick = order.picking_ids.filtered(lambda p: p.picking_type_code == "internal")
        self.http.post(self.url(BULK), json=[])
        with trap_jobs() as trap:
            self._validate(pick)
            trap.assert_enqueued_job(order._push_marketplace_status, args=("assigned_to_salesman",))
            perform_jobs(trap)
            ship = order.picking_ids.filtered(lambda p: p.picking_type_code == "outgoing")
            self.assertEqual(ship.state, "assigned")
            self._validate(ship)
            trap.assert_enqueued_job(order._push_marketplace_status, args=("delivered",))
            perform_jobs(trap)
        self.assertEqual(
            [item["status"] for body in self._sent() for item in body], ["assigned_to_salesman", "delivered"]
        )

    def test_three_steps_pick_is_not_yet_out_for_delivery(self):
        self.warehouse.delivery_steps = "pick_pack_ship"
        order = self._import(status="approved")
        pick = order.picking_ids.filtered(lambda p: p.picking_type_id == self.warehouse.pick_type_id)
        self.http.post(self.url(BULK), json=[])
        with trap_jobs() as trap:
            self._validate(pick)
            trap.assert_jobs_count(0, only=order._push_marketplace_status)
            pack = order.picking_ids.filtered(lambda p: p.picking_type_id == self.warehouse.pack_type_id)
            self._validate(pack)
            trap.assert_enqueued_job(order._push_marketplace_status, args=("assigned_to_salesman",))
            perform_jobs(trap)
            self.assertEqual(self._sent(), [[{"hashed_id": "Lr4tN8wQ", "status": "assigned_to_salesman"}]])
            ship = order.picking_ids.filtered(lambda p: p.picking_type_id == self.warehouse.out_type_id)
            self._validate(ship)
            perform_jobs(trap)
        self.assertEqual(self._sent()[-1], [{"hashed_id": "Lr4tN8wQ", "status": "delivered"}])
        self.assertEqual((order.marketplace_status, order.marketplace_sync_status), ("delivered", "synced"))

    def test_cancellation_asks_for_a_reason_then_pushes_it(self):
        order = self._import(status="approved")
        action = order.action_cancel()
        self.assertEqual(action["res_model"], "marketplace.cancel.wizard")
        self.assertNotEqual(order.state, "cancel")
        wizard = Form(self.env["marketplace.cancel.wizard"].with_context(**action["context"]))
        wizard.reason = "out_of_stock"
        self.http.post(self.url(BULK), json=[])
        with trap_jobs() as trap:
            result = wizard.save().action_cancel_orders()
            if isinstance(result, dict):  # Odoo's own confirmation for confirmed orders
                wizard_model = self.env[result["res_model"]].with_context(**result["context"])
                wizard_model.create({}).action_cancel()
            perform_jobs(trap)
        self.assertEqual(order.state, "cancel")
        self.assertEqual(
            self._sent(),
            [[{"hashed_id": "Lr4tN8wQ", "status": "cancelled_by_supplier", "cancellation_reason": "out_of_stock"}]],
        )

    def test_order_with_a_reason_cancels_straight_through(self):
        order = self._import(status="pending")
        order.cartona_cancellation_reason = "delayed_order"
        self.http.post(self.url(BULK), json=[])
        with trap_jobs() as trap:
            self.assertTrue(order.action_cancel())
            trap.assert_enqueued_job(order._push_marketplace_status, args=("cancelled_by_supplier",))
            perform_jobs(trap)
        self.assertEqual(order.state, "cancel")
        self.assertEqual(
            self._sent(),
            [[{"hashed_id": "Lr4tN8wQ", "status": "cancelled_by_supplier", "cancellation_reason": "delayed_order"}]],
        )
        self.assertEqual((order.marketplace_status, order.marketplace_sync_status), ("cancelled_by_supplier", "synced"))

    def test_cartona_delivered_orders_push_only_cancellation(self):
        order = self._import("Pz2cV6yE", status="approved")
        self.assertEqual(order.delivered_by, "delivered_by_cartona")
        with trap_jobs() as trap:
            order.action_out_for_delivery()
            self._validate(order.picking_ids)
            trap.assert_jobs_count(0, only=order._push_marketplace_status)
            order.cartona_cancellation_reason = "cannot_deliver_the_order"
            order.with_context(disable_cancel_warning=True).action_cancel()
            trap.assert_jobs_count(1, only=order._push_marketplace_status)
            trap.assert_enqueued_job(order._push_marketplace_status, args=("cancelled_by_supplier",))
            self.http.post(self.url(BULK), json=[])
            perform_jobs(trap)
        self.assertEqual(
            self._sent(),
            [
                [
                    {
                        "hashed_id": "Pz2cV6yE",
                        "status": "cancelled_by_supplier",
                        "cancellation_reason": "cannot_deliver_the_order",
                    }
                ]
            ],
        )


class TestBackorders(StatusPushCase):
    """Odoo's backorder wizard: part of the delivery now, the rest later or never."""

    def _validate_sugar_only(self, order, method):
        """The sugar delivered, the soda not: Odoo asks about a backorder and
        the user answers with ``method`` of its wizard."""
        picking = order.picking_ids
        for move in picking.move_ids:
            sugar = move.product_id == self.sugar
            move.quantity = move.product_uom_qty if sugar else 0
            move.picked = sugar
        action = picking.button_validate()
        self.assertEqual(action["res_model"], "stock.backorder.confirmation")
        wizard = Form(self.env[action["res_model"]].with_context(**action["context"])).save()
        getattr(wizard, method)()
        self.assertEqual(picking.state, "done")

    def test_backorder_cancelled_later_means_delivered(self):
        order = self._import(status="approved")
        self.http.post(self.url(BULK), json=[])
        with trap_jobs() as trap:
            self._validate_sugar_only(order, "process")
            trap.assert_enqueued_job(order._push_marketplace_status, args=("assigned_to_salesman",))
            perform_jobs(trap)
            backorder = order.picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))
            self.assertTrue(backorder.backorder_id)
            backorder.action_cancel()
            trap.assert_jobs_count(1, only=order._push_marketplace_status)
            trap.assert_enqueued_job(order._push_marketplace_status, args=("delivered",))
            perform_jobs(trap)
        self.assertEqual(
            self._sent(),
            [
                [{"hashed_id": "Lr4tN8wQ", "status": "assigned_to_salesman"}],
                [{"hashed_id": "Lr4tN8wQ", "status": "delivered"}],
            ],
        )
        self.assertEqual((order.marketplace_status, order.marketplace_sync_status), ("delivered", "synced"))

    def test_no_backorder_means_delivered(self):
        order = self._import(status="approved")
        self.http.post(self.url(BULK), json=[])
        with trap_jobs() as trap:
            self._validate_sugar_only(order, "process_cancel_backorder")
            trap.assert_jobs_count(1, only=order._push_marketplace_status)
            perform_jobs(trap)
        self.assertEqual(
            [item["status"] for body in self._sent() for item in body], ["assigned_to_salesman", "delivered"]
        )
        self.assertEqual(order.marketplace_status, "delivered")

    def test_order_cancelled_after_a_partial_delivery_is_cancelled_not_delivered(self):
        order = self._import(status="approved")
        self.http.post(self.url(BULK), json=[])
        with trap_jobs() as trap:
            self._validate_sugar_only(order, "process")
            perform_jobs(trap)
            order.cartona_cancellation_reason = "out_of_stock"
            order.with_context(disable_cancel_warning=True).action_cancel()
            self.assertEqual(order.state, "cancel")
            trap.assert_jobs_count(1, only=order._push_marketplace_status)
            trap.assert_enqueued_job(order._push_marketplace_status, args=("cancelled_by_supplier",))

    def test_return_after_delivery_tells_cartona_nothing_more(self):
        # Cartona takes no "returned" from a supplier: its own returned status reaches the order.
        order = self._import(status="approved")
        self.http.post(self.url(BULK), json=[])
        with trap_jobs() as trap:
            self._validate(order.picking_ids)
            perform_jobs(trap)
            self.assertEqual(order.marketplace_status, "delivered")
            wizard = Form(
                self.env["stock.return.picking"].with_context(
                    active_ids=order.picking_ids.ids, active_id=order.picking_ids.id, active_model="stock.picking"
                )
            ).save()
            for line in wizard.product_return_moves:
                line.quantity = line.move_id.quantity
            returned = self.env["stock.picking"].browse(wizard.action_create_returns()["res_id"])
            self._validate(returned)
            self.assertEqual((returned.state, returned.sale_id), ("done", order))
            trap.assert_jobs_count(0, only=order._push_marketplace_status)
        self.assertEqual(len(self._sent()), 1)

    def test_cancelled_delivery_with_nothing_delivered_tells_cartona_nothing(self):
        order = self._import(status="approved")
        with trap_jobs() as trap:
            order.picking_ids.action_cancel()
            trap.assert_jobs_count(0, only=order._push_marketplace_status)
        self.assertFalse(order._marketplace_all_delivered())


class TestOtp(StatusPushCase):
    def _otp_order(self):
        order = self._import("Qx7mK2aP", status="assigned_to_salesman")
        self.assertTrue(order.cartona_otp_required)
        return order

    def test_otp_accepted(self):
        order = self._otp_order()
        order.retailer_otp = "4821"
        single = self.url(const.ENDPOINT_ORDER_STATUS_SINGLE.format(hashed_id="Qx7mK2aP"))
        self.http.post(single, json={"success": True})
        with trap_jobs() as trap:
            self._validate(order.picking_ids)
            perform_jobs(trap)
        self.assertEqual(self._sent(), [{"hashed_id": "Qx7mK2aP", "status": "delivered", "retailer_otp": "4821"}])
        self.assertEqual(order.marketplace_status, "delivered")

    def test_otp_rejected_then_corrected(self):
        order = self._otp_order()
        order.retailer_otp = "0000"
        single = self.url(const.ENDPOINT_ORDER_STATUS_SINGLE.format(hashed_id="Qx7mK2aP"))
        self.http.post(single, status=422, json={"message": "Invalid OTP"})
        with trap_jobs() as trap:
            self._validate(order.picking_ids)
            with self.raises(MarketplacePermanentError):
                perform_jobs(trap)
        self.assertEqual(order.marketplace_sync_status, "error")
        self.assertIn("Invalid OTP", order.marketplace_error_message)
        self.assertEqual(order.marketplace_status, "assigned_to_salesman")
        # The user corrects the OTP and syncs again.
        self.http.reset()
        self.http.post(single, json={"success": True})
        order.retailer_otp = "4821"
        with trap_jobs() as trap:
            order.action_marketplace_sync_now()
            trap.assert_enqueued_job(order._push_marketplace_status, args=("delivered",))
            perform_jobs(trap)
        self.assertEqual(self._sent(), [{"hashed_id": "Qx7mK2aP", "status": "delivered", "retailer_otp": "4821"}])
        self.assertEqual((order.marketplace_status, order.marketplace_sync_status), ("delivered", "synced"))

    def test_otp_refused_after_out_for_delivery_was_accepted(self):
        order = self._import("Qx7mK2aP", status="approved")
        order.retailer_otp = "0000"
        single = self.url(const.ENDPOINT_ORDER_STATUS_SINGLE.format(hashed_id="Qx7mK2aP"))
        self.http.post(single, json={"success": True})
        self.http.post(single, status=422, json={"message": "Invalid OTP"})
        with trap_jobs() as trap:
            self._validate(order.picking_ids)
            with self.raises(MarketplacePermanentError):
                perform_jobs(trap)
        self.assertEqual([body["status"] for body in self._sent()], ["assigned_to_salesman", "delivered"])
        self.assertEqual(order.marketplace_status, "assigned_to_salesman", "what Cartona accepted is kept")
        self.assertEqual(order.marketplace_sync_status, "error")

    def test_missing_otp_is_an_error_without_a_request(self):
        order = self._otp_order()
        with trap_jobs() as trap:
            self._validate(order.picking_ids)
            with self.raises(MarketplacePermanentError):
                perform_jobs(trap)
        self.assertFalse(self.http.calls)
        self.assertIn("OTP", order.marketplace_error_message)


class TestNoEcho(StatusPushCase):
    def test_import_never_echoes(self):
        with trap_jobs() as trap:
            for status in ("pending", "approved", "assigned_to_salesman", "delivered"):
                self.pull([self.order_data("Lr4tN8wQ", status=status)])
                self.http.reset()
            self.pull([self.order_data("Qx7mK2aP", status="cancelled_by_retailer")])
            pushes = [job for job in trap.enqueued_jobs if job.method_name == "_push_marketplace_status"]
            self.assertEqual(pushes, [])
            self.assertTrue(trap.enqueued_jobs, "the acknowledgements were queued")

    def test_our_push_coming_back_changes_nothing_and_is_acknowledged(self):
        order = self._import(status="pending")
        self.http.post(self.url(BULK), json=[])
        with trap_jobs() as trap:
            order.action_confirm()
            perform_jobs(trap)
        self.http.reset()
        self.env.cr.precommit.run()  # posts the tracking of the confirmation
        messages = len(order.message_ids)
        with trap_jobs() as trap:
            stats = self.pull([self.order_data("Lr4tN8wQ", status="approved")])
            trap.assert_jobs_count(1, only=self.config._acknowledge_orders)
            trap.assert_enqueued_job(self.config._acknowledge_orders, args=(["Lr4tN8wQ"], ANY, ANY))
        self.assertEqual(stats["updated"], 1)
        self.assertEqual((order.state, order.marketplace_status), ("sale", "approved"))
        self.assertEqual(len(order.message_ids), messages)


class TestPushFailures(StatusPushCase):
    def test_retryable_failure_honours_retry_after(self):
        order = self._import(status="pending")
        self.http.post(self.url(BULK), status=429, headers={"Retry-After": "90"})
        with trap_jobs() as trap:
            order.action_confirm()
            with self.raises(MarketplaceRetryableError) as caught:
                perform_jobs(trap)
        self.assertEqual(caught.exception.seconds, 90)
        self.assertEqual(order.marketplace_sync_status, "error")
        self.assertIn("429", order.marketplace_error_message)

    def test_permanent_failure_marks_the_order(self):
        order = self._import(status="pending")
        self.http.post(
            self.url(BULK), json=[{"hashed_id": "Lr4tN8wQ", "success": False, "error": "status not allowed"}]
        )
        with trap_jobs() as trap:
            order.action_confirm()
            with self.raises(MarketplacePermanentError):
                perform_jobs(trap)
        self.assertEqual(order.marketplace_sync_status, "error")
        self.assertIn("status not allowed", order.marketplace_error_message)

    def test_refused_item_in_every_shape_marks_the_order(self):
        order = self._import(status="pending")
        shapes = [
            ({"success": False, "message": "status not allowed"}, "status not allowed"),
            ({"status": "error", "message": "order is closed"}, "order is closed"),
            ({"status": 422, "message": "cannot approve"}, "cannot approve"),
            ({"error": "unknown order"}, "unknown order"),
        ]
        with trap_jobs():
            order.action_confirm()  # its push is played below, once per shape
        with trap_jobs() as trap:
            for item, reason in shapes:
                with self.subTest(item=item):
                    self.http.reset()
                    self.http.post(self.url(BULK), json=[dict(item, hashed_id="Lr4tN8wQ")])
                    order._marketplace_queue_status("approved")
                    with self.raises(MarketplacePermanentError):
                        perform_jobs(trap)
                    self.assertEqual(order.marketplace_sync_status, "error")
                    self.assertIn(reason, order.marketplace_error_message)
                    self.assertIn("Not retried", order.marketplace_error_message)
                    self.assertEqual(order.marketplace_status, "pending")

    def test_each_failed_attempt_says_whether_odoo_tries_again_and_a_late_success_shows_synced(self):
        # A stored job, run the way the job runner runs it: the attempts made
        # before are kept on the job between two runs.
        self.config.retry_attempts = 2
        order = self._import(status="pending")
        self.http.post(self.url(BULK), status=503, body="down for maintenance")
        order.action_confirm()
        job = self.env["queue.job"].search([("method_name", "=", "_push_marketplace_status")])
        job = job.filtered(lambda j: j.records == order)
        self.assertEqual(len(job), 1)
        with self.raises(MarketplaceRetryableError):
            Job.load(self.env, job.uuid).perform()
        self.assertEqual(order.marketplace_sync_status, "error")
        self.assertIn("503", order.marketplace_error_message)
        self.assertIn("Odoo tries again by itself.", order.marketplace_error_message)
        job.retry = 1
        last = Job.load(self.env, job.uuid)
        with self.raises(FailedJobError) as failure:
            last.perform()
        self.assertNotIn("No attempt left", order.marketplace_error_message, "queue_job has not given up yet")
        # What the job runner does with a job that failed for good.
        last.set_failed(exc_name=f"{FailedJobError.__module__}.FailedJobError", exc_message=str(failure.exception))
        last.store()
        self.assertIn("No attempt left", order.marketplace_error_message)
        self.assertIn("503", order.marketplace_error_message)
        self.assertEqual(order.marketplace_sync_status, "error")
        # Cartona is back: the job, run again ("Requeue failed jobs"), succeeds.
        self.http.reset()
        self.http.post(self.url(BULK), json=[{"hashed_id": "Lr4tN8wQ", "success": True}])
        job.retry = 0
        Job.load(self.env, job.uuid).perform()
        self.assertEqual((order.marketplace_status, order.marketplace_sync_status), ("approved", "synced"))
        self.assertFalse(order.marketplace_error_message)
