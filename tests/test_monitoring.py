"""The dashboard's figures and what they open, the order fetch, "Publish all
products now", and the alerts that need a person."""

import ast
import json
from datetime import datetime, timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError

from odoo.addons.cartona_marketplace import const
from odoo.addons.cartona_marketplace.exceptions import MarketplaceAuthError, MarketplacePermanentError
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import ImportCase, make_user, perform_jobs

SINGLE = const.ENDPOINT_ORDER_STATUS_SINGLE


class MonitoringCase(ImportCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = make_user(cls.env, "mp-manager", "mp_manager", "sales_manager", "warehouse")

    def unmapped(self, hashed_id="Wt5unmapped"):
        data = self.order_data("Pz2cV6yE", hashed_id=hashed_id)
        data["order_details"][0].update(supplier_product_id="777001", internal_product_id="777#1")
        return data

    def config_messages(self, text):
        return self.config.message_ids.filtered(lambda message: text in (message.body or ""))

    def alerts(self, summary, record=None):
        return (record or self.config).activity_ids.filtered(lambda activity: activity.summary == summary)

    def failed_ack_job(self):
        job = self.config.with_delay()._acknowledge_orders(["Lr4tN8wQ"])
        # What the job runner does with a job that failed for good.
        job.set_failed(exc_name="MarketplacePermanentError", exc_message="Cartona said no")
        job.store()
        return job


class TestDashboard(MonitoringCase):
    def test_each_figure_counts_and_opens_its_records(self):
        self.pull([self.order_data("Lr4tN8wQ"), self.unmapped()])
        order = self.sale("Lr4tN8wQ")
        self.soda.sudo().write({"marketplace_sync_status": "error", "marketplace_error_message": "refused"})
        job = self.failed_ack_job()
        self.env["marketplace.sync.log"]._log_operation(self.config.id, "stock_sync", "success", "published")
        self.config.invalidate_recordset()
        config = self.config.with_user(self.manager)
        self.assertEqual(config.orders_today_count, 1)
        self.assertEqual(config.parked_order_count, 1)
        self.assertEqual(config.error_product_count, 1)
        self.assertEqual(config.failed_job_count, 1)
        self.assertGreaterEqual(config.pending_job_count, 1, "the pull's acknowledgement")
        self.assertEqual(config.last_pull_status, "warning")
        self.assertIn("1 parked", config.last_pull_message)
        self.assertTrue(config.last_publication_date)

        def opened(action):
            return self.env[action["res_model"]].with_user(self.manager).search(action["domain"])

        self.assertEqual(opened(config.action_view_orders_today()), order)
        self.assertEqual(opened(config.action_view_error_products()), self.soda)
        self.assertEqual(opened(config.action_view_failed_jobs()), job.db_record())
        self.assertIn(job.db_record(), self.env["queue.job"].search([("state", "=", "failed")]))
        self.assertEqual(opened(config.action_view_parked_orders()).cartona_id, "Wt5unmapped")
        self.assertTrue(opened(config.action_view_error_logs()))
        self.assertEqual(set(opened(config.action_view_error_logs()).mapped("status")), {"error"})
        # Requeued from the dashboard's card, the job is pending again.
        config.action_requeue_failed_jobs()
        self.assertEqual(job.db_record().state, "pending")

    def test_the_latest_log_lookups_have_their_indexes(self):
        indexes = {
            "marketplace_sync_log_config_operation_id_index",
            "marketplace_sync_log_config_status_id_index",
            "marketplace_sync_log_config_create_date_index",
            "marketplace_sync_log_config_auth_failed_id_index",
        }
        self.env.cr.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'marketplace_sync_log'")
        self.assertLessEqual(indexes, {name for (name,) in self.env.cr.fetchall()})

    def test_connection_health_reads_the_latest_connection_log(self):
        log = self.env["marketplace.sync.log"]
        log._log_operation(self.config.id, "connection_test", "success", "connected")
        log._log_operation(self.config.id, "order_pull", "error", "token refused", status_code=401)
        self.assertEqual(self.config.connection_status, "error")
        self.assertEqual(self.config.last_error, "token refused")
        log._log_operation(self.config.id, "connection_test", "success", "connected")
        self.assertEqual(self.config.connection_status, "connected")


class TestFetchOrder(MonitoringCase):
    def fetch(self, **values):
        wizard = (
            self.env["marketplace.fetch.order.wizard"]
            .with_user(self.manager)
            .create(dict(values, marketplace_config_id=self.config.id))
        )
        wizard.action_fetch()
        return wizard

    def test_one_order_by_number_outside_the_pull_window_exactly_once(self):
        self.config.last_pull_date = "2030-01-01 00:00:00"  # the window is past every order
        self.serve_pages(self.page)
        with trap_jobs() as trap:
            wizard = self.fetch(reference="C-2026-118204")
            trap.assert_jobs_count(1, only=self.config._acknowledge_orders)
            self.assertEqual(trap.enqueued_jobs[0].args[0], ["Qx7mK2aP"])
        order = self.sale("Qx7mK2aP")
        self.assertTrue(order)
        self.assertEqual(wizard.sale_order_ids, order)
        self.assertIn("1 created", wizard.result)
        self.assertFalse(self.sale("Lr4tN8wQ"), "only the order asked for")
        # Not the pull window, and not every page Cartona has in this request: the last days.
        since = datetime.now() - timedelta(days=const.FETCH_ORDER_DAYS)
        self.assertEqual(self.http.calls[0].request.params["from"], fields.Datetime.to_string(wizard.date_from))
        self.assertAlmostEqual(wizard.date_from, since, delta=timedelta(minutes=1))
        # Fetched again, by its id, with a change: updated, not doubled.
        changed = self.order_data("Qx7mK2aP", note_message="Ring twice")
        self.http.reset()
        self.serve_pages([changed])
        wizard = self.fetch(reference="Qx7mK2aP")
        self.assertIn("1 updated", wizard.result)
        self.assertEqual(self.sale("Qx7mK2aP"), order)
        self.assertEqual(order.cartona_note, "Ring twice")

    def test_date_range_imports_what_cartona_returns_for_it(self):
        self.serve_pages([self.order_data("Lr4tN8wQ"), self.order_data("Qx7mK2aP")])
        wizard = self.fetch(date_from="2026-01-01 00:00:00", date_to="2026-01-31 23:59:59")
        self.assertEqual(len(wizard.sale_order_ids), 2)
        params = self.http.calls[0].request.params
        self.assertEqual((params["from"], params["to"]), ("2026-01-01 00:00:00", "2026-01-31 23:59:59"))

    def test_an_order_cartona_does_not_return_is_explained(self):
        self.pull([self.order_data("Lr4tN8wQ")])
        self.http.reset()
        self.serve_pages([])
        wizard = self.fetch(reference="Lr4tN8wQ")
        self.assertIn("did not return order Lr4tN8wQ", wizard.result)
        self.assertIn(f"changed in the last {const.FETCH_ORDER_DAYS} days", wizard.result)
        self.assertIn(self.sale("Lr4tN8wQ").name, wizard.result)
        self.assertEqual(wizard.sale_order_ids, self.sale("Lr4tN8wQ"))

    def test_a_waiting_order_is_imported_from_its_kept_payload(self):
        self.pull([self.unmapped()])
        self.rice.cartona_id = "777001"
        self.http.reset()
        self.serve_pages([])
        wizard = self.fetch(reference="Wt5unmapped")
        self.assertTrue(self.sale("Wt5unmapped"))
        self.assertEqual(wizard.sale_order_ids, self.sale("Wt5unmapped"))
        self.assertFalse(self.env["marketplace.parked.order"].search([]))

    def test_nothing_asked_is_refused(self):
        with self.assertRaises(UserError):
            self.fetch()
        self.assertFalse(self.http.calls)


class TestPublishAll(MonitoringCase):
    def test_every_mapped_product_is_published_now_as_the_connector(self):
        self.http.post(self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), json=[])
        self.soda.sudo().write({"marketplace_sync_status": "synced"})  # unchanged figures are sent too
        with trap_jobs() as trap:
            self.config.with_user(self.manager).action_publish_all_products()
            trap.assert_jobs_count(1, only=self.config._publish_pending)
            job = trap.enqueued_jobs[0]
            forced = self.env["marketplace.publication"].search([("force", "=", True)])
            self.assertEqual(set(forced.product_id.mapped("cartona_id")), {"220731", "220790", "110774"}, "forced")
            self.assertTrue(job.recordset.env.su, "queued as the connector")
            perform_jobs(trap)
        sent = json.loads(self.http.calls[0].request.body)
        self.assertEqual(
            {item["supplier_product_id"] for item in sent},
            {"220731", "220790", "110774"},
        )


class TestAlerts(MonitoringCase):
    def test_refused_token_alerts_once_and_closes_when_accepted(self):
        summary = self.config._token_alert_summary()
        self.http.get(self.url(const.ENDPOINT_PRODUCTS), status=401, json={"message": "token revoked"})
        for _attempt in range(2):
            with self.raises(MarketplaceAuthError):
                self.api._get_products(self.config, page=1, per_page=1)
        alert = self.alerts(summary)
        self.assertEqual(len(alert), 1, "once per problem")
        self.assertEqual(alert.user_id, self.config.responsible_id)
        self.assertEqual(len(self.config_messages("token revoked")), 1)
        self.http.reset()
        self.http.get(self.url(const.ENDPOINT_PRODUCTS), json=[])
        self.config.with_user(self.manager).action_test_connection()
        self.assertFalse(self.alerts(summary))
        self.assertTrue(self.config_messages("accepts the token again"))

    def test_job_failed_for_good_alerts_once_and_closes_when_it_succeeds(self):
        summary = self.config._job_alert_summary("_acknowledge_orders")
        first, second = self.failed_ack_job(), self.failed_ack_job()
        self.assertEqual(len(self.alerts(summary)), 1)
        self.assertTrue(self.config_messages("Cartona said no"))
        self.http.post(self.url(const.ENDPOINT_ORDER_STATUS), json=[])
        for done, queued in enumerate((first, second), start=1):
            queued.db_record().requeue()
            job = Job.load(self.env, queued.uuid)
            job.perform()
            job.set_done()
            job.store()
            if done == 1:
                self.assertTrue(self.alerts(summary), "another job of the kind is still failed")
        self.assertFalse(self.alerts(summary))

    def test_a_job_function_on_the_channel_is_all_a_connector_job_needs(self):
        """The connector's jobs are declared once, as job functions on its
        channel: managers read their jobs, the dashboard counts them, and one
        failed for good raises an alert. Nothing else lists them."""
        rule = self.env.ref("cartona_marketplace.queue_job_marketplace_manager_rule")
        self.assertEqual(ast.literal_eval(rule.domain_force), [("channel", "=", const.JOB_CHANNEL)])
        functions = self.env["queue.job.function"].search([("channel", "=", const.JOB_CHANNEL)])
        self.assertEqual(set(functions.mapped("method")), set(const.JOB_LABELS), "each one has a label")
        for method in functions.mapped("method"):
            self.assertNotIn(method, self.config._job_alert_summary(method), "a person reads a label")
        # A job function added on the channel, and nothing else.
        self.env["queue.job.function"].create(
            {
                "model_id": self.env.ref("cartona_marketplace.model_marketplace_config").id,
                "method": "_ensure_invoicing_setup",
                "channel_id": self.env.ref("cartona_marketplace.channel_marketplace").id,
            }
        )
        pending = self.config.pending_job_count
        job = self.config.with_delay()._ensure_invoicing_setup()
        record = job.db_record()
        self.assertEqual(self.env["queue.job"].with_user(self.manager).search([("id", "=", record.id)]), record)
        self.config.invalidate_recordset()
        self.assertEqual(self.config.with_user(self.manager).pending_job_count, pending + 1)
        job.set_failed(exc_name="MarketplaceError", exc_message="Cartona said no")
        job.store()
        self.assertTrue(self.alerts(self.config._job_alert_summary("_ensure_invoicing_setup")))
        # A job of another channel is not the connector's.
        other = self.env["res.partner"].with_delay().exists()
        self.assertFalse(self.env["queue.job"].with_user(self.manager).search([("id", "=", other.db_record().id)]))

    def test_a_job_done_looks_for_failed_jobs_only_while_an_alert_is_open(self):
        """Most jobs that succeed have no alert to close: they do not read
        every failed job of the connector (a status push reads its order's)."""
        summary = self.config._job_alert_summary("_push_marketplace_status")
        self.pull(self.page)
        orders = self.env["sale.order"].search([("marketplace_config_id", "=", self.config.id)])
        self.assertGreater(len(orders), 2)
        for order in orders:
            failed = order.with_delay()._push_marketplace_status("approved")
            failed.set_failed(exc_name="MarketplacePermanentError", exc_message="Cartona said no")
            failed.store()
        self.alerts(summary).action_feedback(feedback="Seen by hand")
        job = orders[0].with_delay()._push_marketplace_status("approved")
        job.set_done()
        self.env.invalidate_all()
        with self.assertQueryCount(6):  # 10 when every failed job was read
            job.store()

    def test_order_waiting_for_a_product_alerts_and_closes_when_imported(self):
        summary = self.env["marketplace.parked.order"]._todo_summaries("Wt5unmapped")["unmapped"]
        self.pull([self.unmapped()])
        self.pull([self.unmapped()])
        self.assertEqual(len(self.alerts(summary)), 1)
        self.assertEqual(len(self.config_messages("is waiting: no product is mapped")), 1)
        self.rice.cartona_id = "777001"
        self.pull([self.unmapped()])
        self.assertFalse(self.alerts(summary))

    def test_refused_otp_alerts_on_the_order_and_closes_when_accepted(self):
        self.pull([self.order_data("Qx7mK2aP", status="assigned_to_salesman")])
        order = self.sale("Qx7mK2aP")
        summary = self.config._otp_alert_summary(order)
        order.retailer_otp = "0000"
        single = self.url(SINGLE.format(hashed_id="Qx7mK2aP"))
        self.http.reset()
        self.http.post(single, status=422, json={"message": "Invalid OTP"})
        for _attempt in range(2):
            with trap_jobs() as trap:
                order.with_context(skip_marketplace_sync=False)._marketplace_queue_status("delivered")
                with self.raises(MarketplacePermanentError):
                    perform_jobs(trap)
        self.assertEqual(len(self.alerts(summary, order)), 1)
        self.assertEqual(len(self.config_messages("Invalid OTP")), 1)
        self.http.reset()
        self.http.post(single, json={"success": True})
        order.retailer_otp = "4821"
        with trap_jobs() as trap:
            order.action_marketplace_sync_now()
            perform_jobs(trap)
        self.assertEqual(order.marketplace_status, "delivered")
        self.assertFalse(self.alerts(summary, order))
        self.assertTrue(self.config_messages("accepted the OTP"))

    def test_delivery_that_could_not_be_validated_alerts_and_closes_when_validated(self):
        self.sugar.tracking = "lot"
        self.config.import_final_orders_live = True  # first seen delivered, imported live
        self.pull([self.order_data("Lr4tN8wQ", status="delivered")])
        order = self.sale("Lr4tN8wQ")
        picking = order.picking_ids
        self.assertNotEqual(picking.state, "done")
        summary = self.config._delivery_alert_summary()
        self.assertEqual(len(self.alerts(summary, order)), 1)
        self.assertTrue(self.config_messages(f"{picking.name} of {order.name} could not be validated"))
        lot = self.env["stock.lot"].create({"name": "L1", "product_id": self.sugar.id})
        self.env["stock.quant"]._update_available_quantity(self.sugar, self.warehouse.lot_stock_id, 100, lot_id=lot)
        for line in picking.move_line_ids.filtered(lambda ml: ml.product_id == self.sugar):
            line.lot_id = lot
        picking.move_ids.picked = True
        picking.with_context(skip_backorder=True, skip_sms=True).button_validate()
        self.assertEqual(picking.state, "done")
        self.assertFalse(self.alerts(summary, order))
        self.assertTrue(self.config_messages("are validated"))


class TestDeliveryOtp(MonitoringCase):
    def test_whoever_delivers_enters_the_otp_and_nothing_else_of_the_order(self):
        self.pull([self.order_data("Qx7mK2aP", status="approved")])
        order = self.sale("Qx7mK2aP")
        clerk = make_user(self.env, "clerk", "warehouse")
        picking = order.picking_ids.with_user(clerk)
        self.assertEqual(picking.marketplace_order_number, "C-2026-118204")
        self.assertEqual(picking.marketplace_status, "approved")
        self.assertTrue(picking.cartona_otp_required)
        picking.retailer_otp = "4821"
        self.assertEqual(order.retailer_otp, "4821")
        employee = make_user(self.env, "employee", "employee")
        with self.raises(AccessError):
            order.picking_ids.with_user(employee).retailer_otp = "0000"
        self.assertEqual(order.retailer_otp, "4821")

    def test_a_portal_follower_of_the_delivery_does_not_read_the_otp(self):
        self.pull([self.order_data("Qx7mK2aP", status="approved")])
        order = self.sale("Qx7mK2aP")
        order.retailer_otp = "4821"
        picking = order.picking_ids
        portal = make_user(self.env, "retailer-portal", "portal")
        picking.message_subscribe(partner_ids=portal.partner_id.ids)
        picking = picking.with_user(portal)
        self.assertEqual(picking.read(["name"])[0]["name"], order.picking_ids.name, "sale_stock shows it to followers")
        with self.assertRaises(AccessError):
            picking.read(["retailer_otp"])
