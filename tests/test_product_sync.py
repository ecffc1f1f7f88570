import json
import math
import threading
from unittest import mock

import responses

from odoo import SUPERUSER_ID, Command, api, fields

from odoo.addons.cartona_marketplace import const
from odoo.addons.cartona_marketplace.exceptions import (
    MarketplaceAuthError,
    MarketplacePermanentError,
    MarketplaceRetryableError,
)
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import BASE_URL, CommittedCase, perform_jobs
from .products_common import CartonaProductCase


class TestPricePublishing(CartonaProductCase):
    def test_mapping_a_product_publishes_price_and_stock(self):
        product = self.make_products(1)
        self.set_stock(product, 30)
        jobs = self.publish()
        self.assertEqual(len(jobs), 1)
        self.assertEqual(
            self.sent(),
            [[{"supplier_product_id": "SP1", "selling_price": 10.0, "available_stock_quantity": 30, "in_stock": True}]],
        )
        self.assertEqual(product.marketplace_sync_status, "synced")
        self.assertTrue(product.marketplace_sync_date)
        self.assertEqual(product.marketplace_published_price, 10.0)
        self.assertEqual(product.marketplace_published_qty, 30)
        self.assertEqual(self.config.total_products_synced, 1)
        log = self.logs(("operation_type", "=", "product_sync"), ("status", "=", "success"))
        self.assertEqual(log.records_processed, 1)

    def test_rows_and_the_drain_job_channel_retries_and_identity(self):
        product = self.make_products(1)
        self.config.retry_attempts = 5
        with trap_jobs() as trap:
            self.commit()
            self.assertEqual(self.pending(), [(product, False, ["price", "stock"], False)])
            trap.assert_jobs_count(1)
            trap.assert_enqueued_job(
                self.config._publish_pending,
                properties={"max_retries": 5, "identity_key": f"cartona-publish-{self.config.id}"},
            )
            self.assertTrue(trap.enqueued_jobs[0].recordset.env.su, "queued as the connector")
        function = self.env.ref("cartona_marketplace.job_function_publish_pending")
        self.assertEqual(function.channel, const.JOB_CHANNEL)
        # Changes wait on it while it waits for a retry: it is tried again within a minute.
        self.assertEqual(function._parse_retry_pattern(), {1: 10, 2: 30, 3: 60})

    def test_price_change_publishes_the_price_only(self):
        product = self.make_products(1)
        self.publish()
        product.product_tmpl_id.list_price = 12.5
        with trap_jobs() as trap:
            self.commit()
            self.assertEqual(self.pending(), [(product, False, ["price"], False)])
            self.drain(trap)
        self.assertEqual(self.sent(1), [[{"supplier_product_id": "SP1", "selling_price": 12.5}]])
        self.assertEqual(product.marketplace_published_price, 12.5)

    def test_variant_sales_price_write_publishes(self):
        product = self.make_products(1)
        self.publish()
        product.lst_price = 11.0
        self.publish()
        self.assertEqual(self.sent(1), [[{"supplier_product_id": "SP1", "selling_price": 11.0}]])

    def test_unchanged_values_are_not_sent_again(self):
        product = self.make_products(1)
        self.set_stock(product, 5)
        self.publish()
        product.product_tmpl_id.list_price = 10.0
        self.set_stock(product, 3)
        self.set_stock(product, -3)
        jobs = self.publish()
        self.assertEqual(len(jobs), 1, "the job ran")
        self.assertEqual(len(self.http.calls), 1, "but found nothing to send")

    def test_box_of_12_publishes_boxes(self):
        product = self.make_products(1)
        product.cartona_uom_id = self.box
        self.set_stock(product, 30)
        self.publish()
        self.assertEqual(
            self.sent(),
            [[{"supplier_product_id": "SP1", "selling_price": 120.0, "available_stock_quantity": 2, "in_stock": True}]],
        )

    def test_price_sync_off_sends_no_price(self):
        self.config.auto_sync_prices = False
        product = self.make_products(1)
        self.publish()
        self.assertEqual(
            self.sent(), [[{"supplier_product_id": "SP1", "available_stock_quantity": 0, "in_stock": False}]]
        )
        product.product_tmpl_id.list_price = 20
        self.assertEqual(self.publish(), [])

    def test_unmapped_or_disabled_products_are_not_published(self):
        self.make_products(1, cartona_id=False)
        self.make_products(1, prefix="OFF", marketplace_sync_enabled=False)
        self.assertEqual(self.publish(), [])
        self.assertFalse(self.http.calls)

    def test_supplier_code_goes_with_each_item(self):
        self.config.supplier_code = "RETAIL"
        self.make_products(1)
        self.publish()
        self.assertEqual(self.sent()[0][0]["supplier_code"], "RETAIL")

    def test_n_products_give_one_request_per_batch(self):
        self.config.batch_size = 3
        self.make_products(7)
        jobs = self.publish()
        self.assertEqual(len(jobs), math.ceil(7 / 3))
        self.assertEqual([len(items) for items in self.sent()], [3, 3, 1])

    def test_later_changes_add_rows_and_never_touch_the_queued_drain(self):
        # Real jobs: the transaction's drain is in the database.
        product = self.make_products(1)
        self.forget_pending()
        drains = self.env["queue.job"].search([("method_name", "=", "_publish_pending")])
        product.product_tmpl_id.list_price = 11
        self.commit()
        drain = self.env["queue.job"].search([("method_name", "=", "_publish_pending")]) - drains
        self.assertEqual(len(drain), 1)
        version = self.row_version(drain)
        product.product_tmpl_id.list_price = 12
        self.commit()  # as each savepoint of a transaction does
        with self.env.cr.savepoint():
            product.product_tmpl_id.list_price = 13
        self.assertEqual(self.pending(), [(product, False, ["price"], False)] * 3)
        self.assertEqual(self.env["queue.job"].search([("method_name", "=", "_publish_pending")]) - drains, drain)
        self.assertEqual(self.row_version(drain), version, "the queued drain was never written")
        Job.load(self.env, drain.uuid).perform()
        self.assertEqual(self.sent(), [[{"supplier_product_id": "SP1", "selling_price": 13.0}]])
        self.assertEqual(self.pending(), [])

    def row_version(self, job):
        """Where the job's row is stored: any UPDATE writes a new version elsewhere."""
        self.env.flush_all()
        self.env.cr.execute("SELECT ctid::text FROM queue_job WHERE id = %s", [job.id])
        return self.env.cr.fetchone()[0]

    def test_a_transaction_queues_one_drain_that_sends_a_request_per_batch(self):
        self.config.batch_size = 2
        products = self.make_products(3)
        self.forget_pending()
        with trap_jobs() as trap:
            for product in products:
                product.product_tmpl_id.list_price = 40
                self.commit()  # as each savepoint of a transaction does
            trap.assert_jobs_count(1)
            self.assertEqual([product for product, *_rest in self.pending()], list(products))
            jobs = self.drain(trap)
        self.assertEqual(len(jobs), 2, "the drain queued the next one for the rows it left")
        self.assertEqual([len(items) for items in self.sent()], [2, 1])
        self.assertEqual(self.pending(), [])

    def test_a_failed_request_keeps_the_rows_and_the_retried_drain_sends_them(self):
        product = self.make_products(1)
        drains = self.env["queue.job"].search([("method_name", "=", "_publish_pending")])
        self.commit()
        drain = self.env["queue.job"].search([("method_name", "=", "_publish_pending")]) - drains
        self.bulk_answer = lambda items: (503, {"message": "maintenance"})
        with self.raises(MarketplaceRetryableError):
            Job.load(self.env, drain.uuid).perform()
        self.assertEqual(self.pending(), [(product, False, ["price", "stock"], False)])
        self.assertEqual(product.marketplace_sync_status, "error")
        # queue_job runs the same job again.
        self.bulk_answer = lambda items: (200, [])
        Job.load(self.env, drain.uuid).perform()
        self.assertEqual(self.pending(), [])
        self.assertEqual(len(self.sent()), 2)
        self.assertEqual(self.sent()[1], self.sent()[0])
        self.assertEqual(product.marketplace_sync_status, "synced")

    def test_a_late_job_publishes_the_figures_of_when_it_runs(self):
        product = self.make_products(1)
        with trap_jobs() as trap:
            self.commit()
            product.product_tmpl_id.list_price = 14
            self.set_stock(product, 9)
            self.forget_pending()
            perform_jobs(trap)
        self.assertEqual(
            self.sent(),
            [[{"supplier_product_id": "SP1", "selling_price": 14.0, "available_stock_quantity": 9, "in_stock": True}]],
        )

    def test_changing_cartona_id_publishes_everything_again(self):
        product = self.make_products(1)
        self.publish()
        product.cartona_id = "NEW1"
        self.assertEqual(product.marketplace_sync_status, "not_synced")
        self.publish()
        self.assertIn(
            [
                {
                    "supplier_product_id": "NEW1",
                    "selling_price": 10.0,
                    "available_stock_quantity": 0,
                    "in_stock": False,
                }
            ],
            self.sent(1),
        )


class TestBulkFailures(CartonaProductCase):
    def test_one_bad_item_does_not_block_the_others(self):
        products = self.make_products(4)
        bad = products[2]

        def answer(items):
            if any(item["supplier_product_id"] == bad.cartona_id for item in items):
                return 422, {"message": "selling_price is below the minimum", "supplier_product_id": bad.cartona_id}
            return 200, []

        self.bulk_answer = answer
        self.publish()
        self.assertEqual([len(items) for items in self.sent()], [4, 2, 2, 1, 1])
        self.assertEqual(bad.marketplace_sync_status, "error")
        self.assertIn("selling_price is below the minimum", bad.marketplace_error_message)
        self.assertEqual(set((products - bad).mapped("marketplace_sync_status")), {"synced"})
        self.assertEqual(self.config.total_products_synced, 3)
        self.assertTrue(self.logs(("operation_type", "=", "product_sync"), ("status", "=", "warning")))

    def test_a_bad_item_refused_without_its_name_blocks_no_other(self):
        products = self.make_products(4)
        bad = products[2]

        def answer(items):
            if any(item["supplier_product_id"] == bad.cartona_id for item in items):
                return 422, {"message": "the price 0.5 is too low"}
            return 200, []

        self.bulk_answer = answer
        self.publish()
        # The halves tell it is about an item: the refused half is split as for a named one.
        self.assertEqual([len(items) for items in self.sent()], [4, 2, 2, 2, 1, 1])
        self.assertEqual(bad.marketplace_sync_status, "error")
        self.assertIn("too low", bad.marketplace_error_message)
        self.assertEqual(set((products - bad).mapped("marketplace_sync_status")), {"synced"})

    def test_a_refusal_naming_nothing_that_every_half_gets_is_the_request_s(self):
        products = self.make_products(4)
        self.bulk_answer = lambda items: (422, {"message": "The given data was invalid."})
        with self.raises(MarketplacePermanentError):
            self.publish()
        self.assertEqual([len(items) for items in self.sent()], [4, 2, 2])
        self.assertEqual(set(products.mapped("marketplace_sync_status")), {"error"})

    def test_unknown_endpoint_is_not_split(self):
        products = self.make_products(4)
        self.bulk_answer = lambda items: (404, {"message": "no such route", "supplier_product_id": "SP1"})
        with self.raises(MarketplacePermanentError):
            self.publish()
        self.assertEqual(len(self.http.calls), 1)
        self.assertEqual(set(products.mapped("marketplace_sync_status")), {"error"})

    def test_refusal_of_the_whole_request_is_sent_once_logged_once_and_retried_whole(self):
        self.config.supplier_code = "77"
        products = self.make_products(6)
        self.forget_pending()
        logs = self.logs()
        # A wrong supplier code: every item would be refused alike, alone or not.
        for body in (
            {"message": "The selected supplier code is invalid."},
            {"message": "The given data was invalid.", "errors": {"0.supplier_code": ["is invalid"]}},
        ):
            self.bulk_answer = lambda items, body=body: (422, body)
            self.http.calls.reset()
            products._trigger_marketplace_sync(["price"])
            with self.raises(MarketplacePermanentError):
                self.publish()
            self.assertEqual([len(items) for items in self.sent()], [6])
            self.assertEqual(len(self.logs() - logs), 1)
            logs = self.logs()
            self.assertEqual(set(products.mapped("marketplace_sync_status")), {"error"})
            self.assertIn("422", products[0].marketplace_error_message)
        # Cartona refuses in a 200 too: the same, without a split.
        self.bulk_answer = lambda items: (200, {"success": False, "message": "Unknown supplier"})
        self.http.calls.reset()
        products._trigger_marketplace_sync(["price"])
        with self.raises(MarketplacePermanentError):
            self.publish()
        self.assertEqual(len(self.http.calls), 1)
        self.assertEqual(len(self.logs() - logs), 1)
        # Once the code is right, the next round sends them again, all in one request.
        self.bulk_answer = lambda items: (200, [])
        self.http.calls.reset()
        with trap_jobs() as trap:
            self.env["product.product"]._cron_sync_product_data()
            perform_jobs(trap)
        self.assertEqual([len(items) for items in self.sent()], [6])
        self.assertEqual(set(products.mapped("marketplace_sync_status")), {"synced"})

    def test_per_item_results_land_on_the_right_product(self):
        products = self.make_products(4)
        products[3].cartona_internal_id = "904#2"
        self.bulk_answer = lambda items: (
            200,
            [
                {"supplier_product_id": "SP1", "success": True},
                {"supplier_product_id": "SP2", "success": False, "message": "unknown product"},
                {"supplier_product_id": "SP3", "status": "error", "error": "not published"},
                {"internal_product_id": "904#2", "status": 422, "message": "bad stock"},
            ],
        )
        self.publish()
        self.assertEqual(products.mapped("marketplace_sync_status"), ["synced", "error", "error", "error"])
        self.assertEqual(
            products[1:].mapped("marketplace_error_message"), ["unknown product", "not published", "bad stock"]
        )
        self.assertEqual(products[1].marketplace_published_price, 0.0, "a refused price is not recorded as published")
        # An error is retried in full by the next push, even if the figures did not change.
        self.bulk_answer = lambda items: (200, {"success": True})
        products._trigger_marketplace_sync(["stock"])
        self.publish()
        self.assertEqual(sorted(item["supplier_product_id"] for item in self.sent(1)[0]), ["SP2", "SP3", "SP4"])
        self.assertEqual(set(products.mapped("marketplace_sync_status")), {"synced"})

    def test_retryable_failure_retries_the_job_no_sooner_than_asked(self):
        product = self.make_products(1)
        self.http.reset()
        self.http.post(self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), status=429, headers={"Retry-After": "120"})
        with trap_jobs() as trap:
            self.commit()
            with self.raises(MarketplaceRetryableError) as caught:
                perform_jobs(trap)
        self.assertEqual(caught.exception.seconds, 120)
        self.assertEqual(product.marketplace_sync_status, "error")
        self.assertIn("429", product.marketplace_error_message)

    def test_refused_token_fails_the_job_and_marks_products(self):
        product = self.make_products(1)
        self.http.reset()
        self.http.post(self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), status=401, json={"message": "bad token"})
        with trap_jobs() as trap:
            self.commit()
            with self.raises(MarketplaceAuthError):
                perform_jobs(trap)
        self.assertEqual(product.marketplace_sync_status, "error")
        self.assertEqual(self.config.connection_status, "error")


class TestRequeueCronAndButtons(CartonaProductCase):
    def test_requeue_failed_jobs_of_this_marketplace(self):
        other = self.config.copy({"name": "Other"})
        self.make_products(1)
        self.forget_pending()
        mine = self.config.with_delay()._publish_pending()
        theirs = other.with_delay()._publish_pending()
        jobs = mine.db_record() | theirs.db_record()
        jobs.write({"state": "failed"})
        self.config.action_requeue_failed_jobs()
        self.assertEqual(jobs.mapped("state"), ["pending", "failed"])

    def test_sync_now_forces_price_and_stock(self):
        product = self.make_products(1)
        self.publish()
        with trap_jobs() as trap:
            product.product_tmpl_id.action_marketplace_sync_now()
            self.assertEqual(self.pending(), [(product, False, ["price", "stock"], True)])
            trap.assert_jobs_count(1, only=self.config._publish_pending)
            self.drain(trap)
        self.assertEqual(len(self.sent(1)), 1, "unchanged, and still sent")

    def test_cron_pushes_errors_and_reconciles_daily(self):
        products = self.make_products(3)
        self.publish()
        products[0].marketplace_sync_status = "error"
        self.assertFalse(self.config.last_reconciliation_date)
        with trap_jobs() as trap:
            self.env["product.product"]._cron_sync_product_data()
            self.assertEqual(self.pending(), [(product, False, ["price", "stock"], True) for product in products])
            self.drain(trap)
        self.assertEqual(len(self.sent(1)[0]), 3, "the daily run sends everything")
        self.assertTrue(self.config.last_reconciliation_date)
        products[1].marketplace_sync_status = "error"
        with trap_jobs() as trap:
            self.env["product.product"]._cron_sync_product_data()
            trap.assert_jobs_count(1)
            self.assertEqual(self.pending(), [(products[1], False, ["price", "stock"], False)])

    def test_cron_drains_rows_no_drain_waits_for(self):
        product = self.make_products(1)
        self.publish()
        self.env["marketplace.sync.state"]._of(
            self.config, "product_sync"
        ).last_reconciliation_date = fields.Datetime.now()
        # A row committed while the drain it saw waiting had read its rows already: no drain is left for it.
        with trap_jobs():
            self.set_stock(product, 4)
            self.commit()
        self.assertEqual(self.pending(), [(product, False, ["stock"], False)])
        with trap_jobs() as trap:
            self.env["product.product"]._cron_sync_product_data()
            trap.assert_jobs_count(1, only=self.config._publish_pending)
            self.drain(trap)
        self.assertEqual(
            self.sent(1), [[{"supplier_product_id": "SP1", "available_stock_quantity": 4, "in_stock": True}]]
        )
        self.assertEqual(self.pending(), [])

    def test_cron_never_raises(self):
        with mock.patch.object(
            type(self.env["product.product"]), "_marketplace_cron_config", side_effect=ValueError("boom")
        ):
            self.env["product.product"]._cron_sync_product_data()
        self.assertIn("boom", self.logs(("status", "=", "error"))[0].message)


class TestTemplateFields(CartonaProductCase):
    def test_single_variant_template_reads_and_writes_the_variant(self):
        template = self.env["product.template"].create(
            {"name": "Tea", "cartona_id": "TEA", "delivered_by": "delivered_by_cartona"}
        )
        variant = template.product_variant_id
        self.assertEqual(variant.cartona_id, "TEA")
        self.assertEqual(variant.delivered_by, "delivered_by_cartona")
        template.marketplace_sync_enabled = False
        self.assertFalse(variant.marketplace_sync_enabled)
        variant.cartona_id = "TEA2"
        self.assertEqual(template.cartona_id, "TEA2")
        self.assertEqual(template.marketplace_sync_status, "not_synced")
        self.assertEqual(self.env["product.template"].search([("cartona_id", "=", "TEA2")]), template)
        self.assertEqual(
            self.env["product.template"].search(
                [("marketplace_sync_status", "=", "not_synced"), ("id", "=", template.id)]
            ),
            template,
        )

    def test_multi_variant_template_shows_nothing(self):
        color = self.env["product.attribute"].create(
            {"name": "Color", "value_ids": [Command.create({"name": "Red"}), Command.create({"name": "Blue"})]}
        )
        template = self.env["product.template"].create(
            {
                "name": "Cup",
                "attribute_line_ids": [
                    Command.create({"attribute_id": color.id, "value_ids": [Command.set(color.value_ids.ids)]})
                ],
            }
        )
        template.product_variant_ids[0].cartona_id = "CUP-RED"
        self.assertFalse(template.cartona_id)


class TestConcurrentDrains(CommittedCase):
    """Two drains of one configuration at once, in real transactions: each
    pending row is sent once."""

    KEY = "Drains"
    # The drain a drain queues for the rows it left runs at once, in its own
    # transaction (queue_job's documented key): no job is committed for the
    # test server's job runner to take.
    NO_DELAY = {"queue_job__no_delay": True}

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            config = env["marketplace.config"].browse(self.config_id)
            config.batch_size = 2
            products = env["product.product"].create(
                [{"name": f"{self.KEY} {i}", "list_price": 5.0, "cartona_id": f"{self.KEY}{i}"} for i in range(3)]
            )
            # Three rows of this configuration, committed; the drain they queue is the test's to run.
            cr.precommit.clear()
            env["marketplace.publication"]._add(config, products, const.SYNC_PARTS)
            env["queue.job"].search([("identity_key", "=", f"cartona-publish-{self.config_id}")]).unlink()
            cr.postcommit.clear()  # nor the drain a second look would queue after the commit
            self.product_ids = products.ids
        self.addCleanup(self._remove_products)

    def _remove_products(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["product.product"].browse(self.product_ids).product_tmpl_id.unlink()
            cr.precommit.clear()
            cr.postcommit.clear()

    def _drain(self, results, name):
        try:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, self.NO_DELAY)
                results[name] = env["marketplace.config"].browse(self.config_id)._publish_pending()
        except Exception as exc:  # reported to the test's thread
            results[name] = exc

    def test_two_drains_at_once_send_each_row_once(self):
        sent, in_call, release, results = [], threading.Event(), threading.Event(), {}

        def answer(request):
            sent.append([item["supplier_product_id"] for item in json.loads(request.body)])
            if not in_call.is_set():
                in_call.set()
                release.wait(30)
            return 200, {}, "[]"

        first = threading.Thread(target=self._drain, args=(results, "first"))
        second = threading.Thread(target=self._drain, args=(results, "second"))
        with responses.RequestsMock() as http:
            http.add_callback(responses.POST, BASE_URL + const.ENDPOINT_PRODUCTS_BULK_UPDATE, callback=answer)
            first.start()
            try:
                self.assertTrue(in_call.wait(30))
                # The first holds its rows while Cartona answers: the second
                # skips them instead of waiting, and sends none of them.
                second.start()
                second.join(30)
                self.assertFalse(second.is_alive(), "the second drain waited for the first")
                self.assertEqual(results["second"], "Nothing left to publish.")
            finally:
                release.set()
                first.join(60)
        self.assertNotIsInstance(results["first"], Exception)
        # The first sent its chunk, then the drain it queued sent the row left.
        self.assertEqual(sent, [[f"{self.KEY}0", f"{self.KEY}1"], [f"{self.KEY}2"]])
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM marketplace_publication WHERE marketplace_config_id = %s", [self.config_id]
            )
            self.assertEqual(cr.fetchone()[0], 0)

    def test_rows_committed_after_the_waiting_drain_read_its_own_get_a_drain(self):
        """A transaction sees the drain waiting and adds a row; meanwhile the
        job runner starts that drain, which reads the rows committed before.
        Once the row is committed, a drain waits for it: no stock change
        waits for the next change or the cron."""
        key = f"cartona-publish-{self.config_id}"
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            # Due in an hour: the job runner of the tests' server leaves it to the test.
            config = env["marketplace.config"].browse(self.config_id)
            uuid = config.with_delay(identity_key=key, eta=3600)._publish_pending().uuid
        self.addCleanup(self._remove_drains, key)
        with responses.RequestsMock() as http, self.registry.cursor() as late:
            http.post(BASE_URL + const.ENDPOINT_PRODUCTS_BULK_UPDATE, json=[])
            env = api.Environment(late, SUPERUSER_ID, {})
            self.assertEqual(env["queue.job"].search([("identity_key", "=", key)]).state, "pending")
            # The job runner runs the drain now, in a transaction of its own.
            with self.registry.cursor() as cr:
                job = Job.load(api.Environment(cr, SUPERUSER_ID, self.NO_DELAY), uuid)
                job.set_started()
                job.store()
                job.perform()
                job.set_done()
                job.store()
            config = env["marketplace.config"].browse(self.config_id)
            env["marketplace.publication"]._add(config, env["product.product"].browse(self.product_ids[:1]), ["price"])
        with self.registry.cursor() as cr:
            # Whatever the tests' job runner has done with it since.
            cr.execute("SELECT count(*) FROM queue_job WHERE identity_key = %s AND uuid != %s", [key, uuid])
            self.assertEqual(cr.fetchone()[0], 1, "a drain is queued for the row added after the drain read its rows")

    def _remove_drains(self, key):
        with self.registry.cursor() as cr:
            cr.execute("DELETE FROM queue_job WHERE identity_key = %s", [key])
            cr.execute("DELETE FROM marketplace_publication WHERE marketplace_config_id = %s", [self.config_id])
