import math
from unittest import mock

from odoo import Command

from odoo.addons.cartona_marketplace import const
from odoo.addons.cartona_marketplace.exceptions import (
    MarketplaceAuthError,
    MarketplacePermanentError,
    MarketplaceRetryableError,
)
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import perform_jobs
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

    def test_job_arguments_channel_and_retries(self):
        product = self.make_products(1)
        self.config.retry_attempts = 5
        with trap_jobs() as trap:
            self.commit()
            trap.assert_jobs_count(1)
            trap.assert_enqueued_job(
                self.env["product.product"]._marketplace_sync_job,
                args=(self.config.id, product.ids, ["price", "stock"], False),
                properties={"max_retries": 5},
            )
        function = self.env.ref("cartona_marketplace.job_function_product_marketplace_sync")
        self.assertEqual(function.channel, "root.marketplace")
        self.assertEqual(function._parse_retry_pattern(), {1: 60, 2: 300, 3: 1800})

    def test_price_change_publishes_the_price_only(self):
        product = self.make_products(1)
        self.publish()
        product.product_tmpl_id.list_price = 12.5
        jobs = self.publish()
        self.assertEqual(jobs[0].args[2], ["price"])
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

    def test_repeated_triggers_do_not_pile_up(self):
        # Real jobs: a transaction fills the job it already queued (trapped
        # jobs are not stored, so could not be filled).
        product = self.make_products(1)
        self.forget_pending()
        jobs = self.env["queue.job"].search([("method_name", "=", "_marketplace_sync_job")])
        for price in (11, 12, 13):
            product.product_tmpl_id.list_price = price
            self.commit()  # as each savepoint of a transaction does
        new = self.env["queue.job"].search([("method_name", "=", "_marketplace_sync_job")]) - jobs
        self.assertEqual(len(new), 1)
        self.assertEqual(new.args[1], product.ids)
        Job.load(self.env, new.uuid).perform()
        self.assertEqual(self.sent(), [[{"supplier_product_id": "SP1", "selling_price": 13.0}]])

    def test_one_transaction_queues_one_job_per_chunk_across_savepoints(self):
        self.config.batch_size = 2
        products = self.make_products(3)
        self.forget_pending()
        jobs = self.env["queue.job"].search([("method_name", "=", "_marketplace_sync_job")])
        for product in products:
            product.product_tmpl_id.list_price = 40
            self.commit()
        new = self.env["queue.job"].search([("method_name", "=", "_marketplace_sync_job")]) - jobs
        self.assertEqual(sorted(len(job.args[1]) for job in new), [1, 2])
        self.assertEqual(sorted(pid for job in new for pid in job.args[1]), sorted(products.ids))

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
        product = self.make_products(1)
        self.forget_pending()
        Product = self.env["product.product"]
        mine = Product.with_delay()._marketplace_sync_job(self.config.id, product.ids, ["stock"])
        theirs = Product.with_delay()._marketplace_sync_job(other.id, product.ids, ["stock"])
        jobs = mine.db_record() | theirs.db_record()
        jobs.write({"state": "failed"})
        self.config.action_requeue_failed_jobs()
        self.assertEqual(jobs.mapped("state"), ["pending", "failed"])

    def test_sync_now_forces_price_and_stock(self):
        product = self.make_products(1)
        self.publish()
        with trap_jobs() as trap:
            product.product_tmpl_id.action_marketplace_sync_now()
            trap.assert_enqueued_job(
                self.env["product.product"]._marketplace_sync_job,
                args=(self.config.id, product.ids, ["price", "stock"], True),
            )
            perform_jobs(trap)
        self.assertEqual(len(self.sent(1)), 1, "unchanged, and still sent")

    def test_cron_pushes_errors_and_reconciles_daily(self):
        products = self.make_products(3)
        self.publish()
        products[0].marketplace_sync_status = "error"
        self.assertFalse(self.config.last_reconciliation_date)
        with trap_jobs() as trap:
            self.env["product.product"]._cron_sync_product_data()
            trap.assert_enqueued_job(
                self.env["product.product"]._marketplace_sync_job,
                args=(self.config.id, sorted(products.ids), ["price", "stock"], True),
            )
            perform_jobs(trap)
        self.assertEqual(len(self.sent(1)[0]), 3, "the daily run sends everything")
        self.assertTrue(self.config.last_reconciliation_date)
        products[1].marketplace_sync_status = "error"
        with trap_jobs() as trap:
            self.env["product.product"]._cron_sync_product_data()
            trap.assert_jobs_count(1)
            trap.assert_enqueued_job(
                self.env["product.product"]._marketplace_sync_job,
                args=(self.config.id, products[1].ids, ["price", "stock"], False),
            )

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
