"""What Odoo stops selling, Cartona stops selling: a product archived, unmapped,
remapped or no longer published is sent once as out of stock under the ID
Cartona knows."""

from odoo import Command

from odoo.addons.cartona_marketplace.exceptions import MarketplaceRetryableError
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import make_user
from .products_common import CartonaProductCase


def withdrawn(cartona_id, **extra):
    return dict(
        {
            "supplier_product_id": cartona_id,
            "available_stock_quantity": 0,
            "in_stock": False,
            "is_unlimited_stock": False,
        },
        **extra,
    )


class WithdrawCase(CartonaProductCase):
    def setUp(self):
        super().setUp()
        self.product = self.make_products(1)
        self.set_stock(self.product, 30)
        self.publish()
        self.http.calls.reset()

    def publish_and_withdrawals(self):
        """Commit and run the drains; returns the jobs that ran and the Cartona
        IDs the commit left to withdraw."""
        with trap_jobs() as trap:
            self.commit()
            withdrawals = [cartona_id for _product, cartona_id, _parts, _force in self.pending() if cartona_id]
            return self.drain(trap), withdrawals


class TestWithdraw(WithdrawCase):
    def test_archived_product_is_withdrawn_once(self):
        self.config.supplier_code = "RETAIL"
        self.product.action_archive()
        jobs, withdrawals = self.publish_and_withdrawals()
        self.assertEqual(withdrawals, ["SP1"])
        self.assertEqual(self.sent(), [[withdrawn("SP1", supplier_code="RETAIL")]])
        self.assertEqual(len(jobs), 1, "no publication of an archived product")
        # Once: nothing more goes out for it, whatever happens to its stock.
        self.set_stock(self.product, 5)
        self.product.product_tmpl_id.list_price = 99
        self.assertEqual(self.publish(), [])
        self.assertEqual(len(self.http.calls), 1)
        log = self.logs(("operation_type", "=", "stock_sync"), ("status", "=", "success"))
        self.assertIn("SP1", log[0].message)

    def test_product_manager_without_marketplace_rights_archives(self):
        # Archiving is the user's act; what it makes the connector record is the connector's.
        manager = make_user(self.env, "stock-manager", groups=("stock.group_stock_manager",))
        self.product.with_user(manager).action_archive()
        self.assertEqual(self.publish_and_withdrawals()[1], ["SP1"])
        self.assertEqual(self.sent(), [[withdrawn("SP1")]])
        self.assertEqual(self.product.marketplace_sync_status, "not_synced")

    def test_archiving_a_template_withdraws_its_variants(self):
        color = self.env["product.attribute"].create(
            {"name": "Color", "value_ids": [Command.create({"name": "Red"}), Command.create({"name": "Blue"})]}
        )
        template = self.env["product.template"].create(
            {
                "name": "Cup",
                "is_storable": True,
                "attribute_line_ids": [
                    Command.create({"attribute_id": color.id, "value_ids": [Command.set(color.value_ids.ids)]})
                ],
            }
        )
        red, blue = template.product_variant_ids
        red.cartona_id, blue.cartona_id = "CUP-RED", "CUP-BLUE"
        self.publish()
        self.http.calls.reset()
        template.action_archive()
        self.publish()
        self.assertEqual(
            sorted(self.sent()[0], key=lambda item: item["supplier_product_id"]),
            [withdrawn("CUP-BLUE"), withdrawn("CUP-RED")],
        )

    def test_publishing_off_withdraws_and_on_publishes_everything_again(self):
        self.product.marketplace_sync_enabled = False
        self.publish()
        self.assertEqual(self.sent(), [[withdrawn("SP1")]])
        # Back on, same price and stock as before: Cartona gets them all again.
        self.product.marketplace_sync_enabled = True
        self.publish()
        self.assertEqual(
            self.sent(1),
            [[{"supplier_product_id": "SP1", "selling_price": 10.0, "available_stock_quantity": 30, "in_stock": True}]],
        )
        self.assertEqual(self.product.marketplace_sync_status, "synced")

    def test_reactivated_product_publishes_again(self):
        self.product.action_archive()
        self.publish()
        self.product.action_unarchive()
        self.publish()
        self.assertEqual(
            self.sent(1),
            [[{"supplier_product_id": "SP1", "selling_price": 10.0, "available_stock_quantity": 30, "in_stock": True}]],
        )

    def test_changed_cartona_id_withdraws_the_old_one(self):
        self.product.cartona_id = "NEW1"
        self.publish()
        sent = {item["supplier_product_id"]: item for items in self.sent() for item in items}
        self.assertEqual(sent["SP1"], withdrawn("SP1"))
        self.assertEqual(sent["NEW1"]["available_stock_quantity"], 30)

    def test_removed_cartona_id_is_withdrawn(self):
        self.product.cartona_id = False
        self.publish()
        self.assertEqual(self.sent(), [[withdrawn("SP1")]])

    def test_id_moved_to_another_product_is_not_withdrawn(self):
        other = self.make_products(1, prefix="B", cartona_id=False)
        self.set_stock(other, 4)
        self.forget_pending()
        self.product.cartona_id = False
        self.env.flush_all()  # the unique key holds at every statement
        other.cartona_id = "SP1"
        self.assertEqual(self.publish_and_withdrawals()[1], [])
        self.assertEqual(
            self.sent(),
            [[{"supplier_product_id": "SP1", "selling_price": 10.0, "available_stock_quantity": 4, "in_stock": True}]],
        )

    def test_ids_swapped_between_products_withdraw_only_what_nobody_sells(self):
        other = self.make_products(1, prefix="B")
        self.publish()
        self.http.calls.reset()
        self.product.cartona_id = False
        self.env.flush_all()  # the unique key holds at every statement
        other.cartona_id = "SP1"
        self.publish()
        sent = {item["supplier_product_id"]: item for items in self.sent() for item in items}
        self.assertEqual(set(sent), {"B1", "SP1"})
        self.assertEqual(sent["B1"], withdrawn("B1"))
        self.assertEqual(sent["SP1"]["in_stock"], False, "B1's product has no stock")
        self.assertIn("selling_price", sent["SP1"])

    def test_archived_and_reactivated_in_one_transaction_is_not_withdrawn(self):
        self.product.action_archive()
        self.product.action_unarchive()
        self.assertEqual(self.publish_and_withdrawals()[1], [])
        self.assertNotIn(withdrawn("SP1"), [item for items in self.sent() for item in items])

    def test_unpublished_product_is_not_withdrawn(self):
        off = self.make_products(1, prefix="OFF", marketplace_sync_enabled=False)
        self.forget_pending()
        off.action_archive()
        unmapped = self.make_products(1, prefix="X", cartona_id=False)
        self.forget_pending()
        unmapped.action_archive()
        self.assertEqual(self.publish(), [])

    def test_deleted_product_is_withdrawn(self):
        product = self.make_products(1, prefix="DEL")
        self.publish()
        self.http.calls.reset()
        product.unlink()
        self.publish()
        self.assertEqual(self.sent(), [[withdrawn("DEL1")]])

    def test_other_company_product_goes_to_its_company_only(self):
        other_company = self.env["res.company"].create({"name": "Other company"})
        product = self.make_products(1, prefix="OC", company_id=other_company.id)
        self.forget_pending()
        product.action_archive()
        self.assertEqual(self.publish(), [])


class TestWithdrawJob(WithdrawCase):
    def test_rows_the_drain_and_requeue(self):
        self.config.retry_attempts = 4
        self.product.action_archive()
        with trap_jobs() as trap:
            self.commit()
            self.assertEqual(self.pending(), [(self.env["product.product"], "SP1", ["stock"], False)])
            trap.assert_jobs_count(1)
            trap.assert_enqueued_job(self.config._publish_pending, properties={"max_retries": 4})
        # Failed for good (every retry refused): its rows wait for "Requeue failed jobs".
        self.bulk_answer = lambda items: (503, {"message": "maintenance"})
        job = self.config.with_delay()._publish_pending()
        with self.raises(MarketplaceRetryableError):
            job.perform()
        job.db_record().state = "failed"
        self.config.action_requeue_failed_jobs()
        self.assertEqual(job.db_record().state, "pending")
        self.bulk_answer = lambda items: (200, [])
        job.perform()
        self.assertEqual(self.sent(), [[withdrawn("SP1")]] * 2)
        self.assertEqual(self.pending(), [])

    def test_a_product_sold_again_before_the_job_runs_is_left_to_its_publication(self):
        self.product.action_archive()
        with trap_jobs() as trap:
            self.commit()
            self.assertEqual(self.pending(), [(self.env["product.product"], "SP1", ["stock"], False)])
            self.product.action_unarchive()
            self.forget_pending()
            self.drain(trap)
        self.assertFalse(self.http.calls)

    def test_a_late_publication_never_sells_an_archived_product(self):
        with trap_jobs() as trap:
            self.set_stock(self.product, 7)
            self.commit()
            self.product.action_archive()
            self.commit()
            self.drain(trap)
        self.assertEqual(self.sent(), [[withdrawn("SP1")]])

    def test_retryable_failure_fails_the_job_for_a_retry(self):
        self.bulk_answer = lambda items: (503, {"message": "maintenance"})
        self.product.action_archive()
        with trap_jobs() as trap:
            self.commit()
            with self.raises(MarketplaceRetryableError):
                self.drain(trap)
        self.assertTrue(self.logs(("operation_type", "=", "stock_sync"), ("status", "=", "error")))

    def test_refused_item_is_logged_and_the_others_go_out(self):
        other = self.make_products(1, prefix="B")
        self.publish()
        self.http.calls.reset()
        self.bulk_answer = lambda items: (
            200,
            [
                {"supplier_product_id": item["supplier_product_id"], "status": 404, "message": "unknown product"}
                for item in items
                if item["supplier_product_id"] == "B1"
            ],
        )
        (self.product | other).action_archive()
        self.publish()
        self.assertEqual(len(self.sent()), 1)
        log = self.logs(("operation_type", "=", "stock_sync"), ("status", "=", "warning"))
        self.assertIn("1 of 2", log[0].message)
        self.assertIn("[B1]: unknown product", log[0].message)
