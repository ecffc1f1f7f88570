"""A product whose stock Odoo does not track is sold on Cartona as unlimited."""

from odoo.addons.queue_job.tests.common import trap_jobs

from .products_common import CartonaProductCase


class TestUnlimitedStock(CartonaProductCase):
    def test_product_without_tracked_stock_is_published_as_unlimited(self):
        product = self.make_products(1, is_storable=False)
        self.publish()
        self.assertEqual(
            self.sent(),
            [[{"supplier_product_id": "SP1", "selling_price": 10.0, "is_unlimited_stock": True, "in_stock": True}]],
        )
        self.assertTrue(product.marketplace_published_unlimited)
        # Unchanged: nothing goes out again.
        product._trigger_marketplace_sync(["stock"])
        self.publish()
        self.assertEqual(len(self.http.calls), 1)

    def test_switching_between_tracked_and_untracked_stock_is_sent_once_each_way(self):
        # Odoo lets only a product without stock change its tracking.
        product = self.make_products(1)
        self.publish()
        product.is_storable = False
        with trap_jobs() as trap:
            self.commit()
            self.assertEqual(self.pending(), [(product, False, ["stock"], False)])
            self.drain(trap)
        self.assertEqual(self.sent(1), [[{"supplier_product_id": "SP1", "is_unlimited_stock": True, "in_stock": True}]])
        product.is_storable = True
        self.publish()
        self.assertEqual(
            self.sent(2),
            [
                [
                    {
                        "supplier_product_id": "SP1",
                        "available_stock_quantity": 0,
                        "in_stock": False,
                        "is_unlimited_stock": False,
                    }
                ]
            ],
        )
        self.assertFalse(product.marketplace_published_unlimited)
        product._trigger_marketplace_sync(["stock"])
        self.publish()
        self.assertEqual(len(self.http.calls), 3, "nothing changed since")

    def test_untracked_product_with_stock_publishing_off_sends_no_stock(self):
        self.make_products(1, is_storable=False, marketplace_stock_sync_enabled=False)
        self.publish()
        self.assertEqual(self.sent(), [[{"supplier_product_id": "SP1", "selling_price": 10.0}]])
