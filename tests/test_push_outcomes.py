"""What a status push's caller and Cartona's answers leave on the order: a
button's answer XML-RPC can carry, a refusal made moot, a retry of a push that
had applied. (Found by the soak, scripts/soak.py, on a real server.)"""

from odoo.addons.base.controllers.rpc import dumps
from odoo.addons.cartona_marketplace.exceptions import MarketplacePermanentError
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import BULK, StatusPushCase, perform_jobs


class TestPushOutcomes(StatusPushCase):
    def test_order_buttons_answer_what_xmlrpc_carries(self):
        """Buttons pressed over XML-RPC (a delivery app, a script): its answer
        cannot carry None, and a button returning it reports a failure to its
        caller although what it did is committed."""
        order = self._import(status="pending")
        with trap_jobs():
            order.action_confirm()
            for button in (order.action_out_for_delivery, order.action_marketplace_sync_now):
                with self.subTest(button=button.__name__):
                    dumps((button(),))  # what /xmlrpc/2/object does with the answer

    def test_push_refused_because_cartona_moved_on_is_no_error_once_its_status_arrives(self):
        """The retailer cancels on Cartona while Odoo pushes its confirmation:
        Cartona refuses it. When the cancellation is pulled, the refusal is
        moot and the order no longer asks a person to sync it."""
        order = self._import(status="pending")
        refusal = "Order Lr4tN8wQ is cancelled_by_retailer: its status cannot change"
        self.http.post(self.url(BULK), json=[{"hashed_id": "Lr4tN8wQ", "success": False, "message": refusal}])
        with trap_jobs() as trap:
            order.action_confirm()
            with self.raises(MarketplacePermanentError):
                perform_jobs(trap)
        self.assertEqual(order.marketplace_sync_status, "error")
        with trap_jobs():
            self.pull([self.order_data("Lr4tN8wQ", status="cancelled_by_retailer")])
        self.assertEqual((order.state, order.marketplace_status), ("cancel", "cancelled_by_retailer"))
        self.assertEqual(order.marketplace_sync_status, "synced")
        self.assertFalse(order.marketplace_error_message)

    def test_a_push_whose_first_attempt_applied_is_done_when_retried(self):
        """Shipped then delivered in one request, applied on Cartona but its
        answer lost: the retry finds the order delivered. Cartona refuses the
        step behind it and takes the delivery: the push has done its work."""
        order = self._import(status="approved")
        self.http.post(
            self.url(BULK),
            json=[
                {
                    "hashed_id": "Lr4tN8wQ",
                    "success": False,
                    "message": "Order Lr4tN8wQ is delivered: its status cannot change",
                },
                {"hashed_id": "Lr4tN8wQ", "success": True, "status": "delivered"},
            ],
        )
        with trap_jobs() as trap:
            self._validate(order.picking_ids)
            perform_jobs(trap)
        self.assertEqual((order.marketplace_status, order.marketplace_sync_status), ("delivered", "synced"))
        self.assertFalse(order.marketplace_error_message)

    def test_a_push_refused_on_its_last_step_is_still_an_error(self):
        order = self._import(status="approved")
        refusal = "Order Lr4tN8wQ is cancelled_by_retailer: its status cannot change"
        self.http.post(
            self.url(BULK),
            json=[
                {"hashed_id": "Lr4tN8wQ", "success": False, "message": refusal},
                {"hashed_id": "Lr4tN8wQ", "success": False, "message": refusal},
            ],
        )
        with trap_jobs() as trap:
            self._validate(order.picking_ids)
            with self.raises(MarketplacePermanentError):
                perform_jobs(trap)
        self.assertEqual(order.marketplace_sync_status, "error")
