import math

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import make_user, perform_jobs
from .products_common import CartonaProductCase

# Queries of a commit that queued a page's stock, whatever its size: with a
# new drain job (queue_job's own insert and followers), or one waiting already.
QUEUE_QUERIES = 12
WAITING_QUERIES = 5


class TestStockPublishing(CartonaProductCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product = cls.env["product.product"].create(
            {"name": "Rice 1kg", "type": "consu", "is_storable": True, "list_price": 10.0, "cartona_id": "RICE"}
        )
        cls.env["stock.quant"]._update_available_quantity(cls.product, cls.stock_location, 10)
        cls.env.flush_all()
        cls.cr.precommit.clear()

    def published_qty(self, since=0):
        return [item["available_stock_quantity"] for items in self.sent(since) for item in items]

    def test_reservation_lowers_what_is_published(self):
        picking = self.delivery({self.product: 4})
        self.assertEqual(picking.state, "assigned")
        self.publish()
        self.assertEqual(
            self.sent(), [[{"supplier_product_id": "RICE", "available_stock_quantity": 6, "in_stock": True}]]
        )
        picking.do_unreserve()
        self.publish()
        self.assertEqual(self.published_qty(1), [10])

    def test_delivery_done_publishes_only_the_stock(self):
        self.product.write({"marketplace_sync_status": "synced", "marketplace_published_price": 10.0})
        picking = self.delivery({self.product: 4})
        self.forget_pending()
        self.validate(picking)
        self.assertEqual(picking.state, "done")
        self.publish()
        self.assertEqual(
            self.sent(), [[{"supplier_product_id": "RICE", "available_stock_quantity": 6, "in_stock": True}]]
        )

    def test_inventory_adjustment_publishes(self):
        quant = (
            self.env["stock.quant"]
            .with_context(inventory_mode=True)
            .create({"product_id": self.product.id, "location_id": self.stock_location.id, "inventory_quantity": 25})
        )
        self.forget_pending()
        quant.action_apply_inventory()
        self.publish()
        self.assertEqual(self.published_qty(), [25])

    def test_box_of_12_rounds_down(self):
        self.product.cartona_uom_id = self.box
        self.set_stock(self.product, 20)
        self.publish()
        self.assertEqual(
            self.sent(),
            [
                [
                    {
                        "supplier_product_id": "RICE",
                        "selling_price": 120.0,
                        "available_stock_quantity": 2,
                        "in_stock": True,
                    }
                ]
            ],
        )

    def test_never_negative(self):
        self.set_stock(self.product, -15)
        self.publish()
        self.assertEqual(self.published_qty(), [0])
        self.assertFalse(self.sent()[0][0]["in_stock"])

    def test_other_warehouse_stock_is_not_published(self):
        other = self.env["stock.warehouse"].create({"name": "Far away", "code": "FAR"})
        self.env["stock.quant"]._update_available_quantity(self.product, other.lot_stock_id, 50)
        self.publish()
        self.assertEqual(self.published_qty(), [10])

    def test_stock_sync_off(self):
        self.config.auto_sync_stock = False
        self.set_stock(self.product, 5)
        self.assertEqual(self.publish(), [])
        self.config.auto_sync_stock = True
        self.product.marketplace_stock_sync_enabled = False
        self.publish()
        self.assertEqual(self.sent(), [[{"supplier_product_id": "RICE", "selling_price": 10.0}]])

    def test_marketplace_orders_context_still_publishes_stock(self):
        picking = self.delivery({self.product: 3})
        self.forget_pending()
        self.validate(picking.with_context(skip_marketplace_sync=True))
        self.publish()
        self.assertEqual(self.published_qty(), [7])

    def test_plain_warehouse_user_validating_a_move_still_publishes(self):
        user = make_user(self.env, "wh-clerk", "warehouse")
        picking = self.delivery({self.product: 4})
        self.forget_pending()
        with trap_jobs() as trap:
            self.validate(picking.with_user(user))
            self.commit()
            self.assertEqual(trap.enqueued_jobs[0].user_id, user.id)
            perform_jobs(trap)
        self.assertEqual(self.published_qty(), [6])
        self.assertEqual(self.product.marketplace_sync_status, "synced")


class TestCoalescing(CartonaProductCase):
    def test_one_big_delivery_queues_one_job_per_batch(self):
        products = self.make_products(300)
        for product in products:
            self.set_stock(product, 10)
        quantities = {product: 4 if i < 100 else 3 for i, product in enumerate(products)}
        self.assertEqual(sum(quantities.values()), 1000)
        picking = self.delivery(quantities)
        self.publish()
        self.validate(picking)
        jobs = self.publish()
        self.assertLessEqual(len(jobs), math.ceil(300 / self.config.batch_size))
        self.assertEqual([len(items) for items in self.sent(len(self.http.calls) - len(jobs))], [100, 100, 100])

    def test_collection_cost_does_not_grow_with_products(self):
        def queries_to_collect(count, prefix):
            products = self.make_products(count, prefix=prefix)
            self.forget_pending()
            with trap_jobs():
                for product in products:
                    self.set_stock(product, 5)
                self.env.flush_all()
                before = self.cr.sql_log_count
                self.env.cr.precommit.run()
                return self.cr.sql_log_count - before

        queries_to_collect(1, "WARM")  # caches (job functions, configs) filled once
        self.assertEqual(queries_to_collect(3, "A"), queries_to_collect(60, "B"))

    def test_queuing_a_page_s_stock_costs_a_few_queries(self):
        """At commit: the products, the configurations, one insert of every
        row, the drain's identity and, unless one waits already, the drain."""

        def change_stock(count, prefix):
            products = self.make_products(count, prefix=prefix)
            self.forget_pending()
            for product in products:
                self.set_stock(product, 5)
            self.env.flush_all()

        # Real jobs: the drain's identity is looked up in the database.
        change_stock(1, "WARM")
        self.env.cr.precommit.run()  # caches (job functions, configurations) filled once
        self.env["queue.job"].search([("method_name", "=", "_publish_pending")]).unlink()
        change_stock(40, "A")
        with self.assertQueryCount(QUEUE_QUERIES, flush=False):
            self.env.cr.precommit.run()
        change_stock(40, "B")
        with self.assertQueryCount(WAITING_QUERIES, flush=False):
            self.env.cr.precommit.run()
        self.assertEqual(len(self.env["queue.job"].search([("method_name", "=", "_publish_pending")])), 1)
        self.assertEqual(len(self.pending()), 81)
