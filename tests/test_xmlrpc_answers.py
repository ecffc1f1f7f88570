"""Buttons pressed over XML-RPC (a delivery app, a script, the soak): Odoo's
XML-RPC answer cannot carry None, and a button that returns it reports a
failure to its caller although what it did is committed."""

from odoo.addons.base.controllers.rpc import dumps
from odoo.addons.queue_job.tests.common import trap_jobs

from .test_status_push import StatusPushCase


class TestXmlrpcAnswers(StatusPushCase):
    def test_order_buttons_answer_what_xmlrpc_carries(self):
        order = self._import(status="pending")
        with trap_jobs():
            order.action_confirm()
            for button in (order.action_out_for_delivery, order.action_marketplace_sync_now):
                with self.subTest(button=button.__name__):
                    dumps((button(),))  # what /xmlrpc/2/object does with the answer
