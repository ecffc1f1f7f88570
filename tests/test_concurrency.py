import threading

import responses

from odoo import SUPERUSER_ID, api
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase

from odoo.addons.cartona_marketplace import const

from .common import BASE_URL, ImportCase, load_json


class TestPullLock(ImportCase):
    def test_a_second_pull_of_the_same_marketplace_skips_quietly(self):
        other = db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute("SELECT pg_advisory_lock(%s, %s)", [const.PULL_LOCK_KEY, self.config.id])
            self.assertIsNone(self.api._pull_and_process_orders())
            self.assertFalse(self.http.calls, "the loser does not even call Cartona")
            self.assertEqual(self.config.action_pull_orders()["params"]["type"], "warning")
        finally:
            other.execute("SELECT pg_advisory_unlock_all()")
            other.close()
        self.serve_pages([])
        self.assertIsNotNone(self.api._pull_and_process_orders())


class TestConcurrentImport(TransactionCase):
    """Two real transactions import the same order at once: the database's
    unique key leaves one sale order. Everything here is committed, then removed."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            config = env["marketplace.config"].create({"name": "Concurrency", "api_base_url": BASE_URL})
            product = env["product.product"].create({"name": "Concurrent rice", "cartona_internal_id": "C-518#1"})
            env.flush_all()
            cls.config_id, cls.product_id = config.id, product.id
        cls.addClassCleanup(cls._cleanup)

    @classmethod
    def _cleanup(cls):
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            orders = env["sale.order"].search([("marketplace_config_id", "=", cls.config_id)])
            partners = orders.partner_id
            orders.unlink()
            partners.unlink()
            env["product.product"].browse(cls.product_id).product_tmpl_id.unlink()
            env["marketplace.config"].browse(cls.config_id).unlink()
            env.flush_all()

    def _order(self):
        data = next(o for o in load_json("pull_orders_page.json") if o["hashed_id"] == "Mn9bH3kT")
        data.update(hashed_id="Race1", status="pending")
        data["retailer"]["retailer_code"] = "RACE-1"
        data["order_details"][0]["internal_product_id"] = "C-518#1"
        return data

    def _import(self, data, imported, release, results, name):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            processor = env["marketplace.order.processor"].with_context(marketplace_config_id=self.config_id)
            results[name] = processor._process_page([data])
            imported.set()
            release.wait(30)
            env.flush_all()

    def test_two_transactions_give_one_sale_order(self):
        data = self._order()
        results = {}
        first_done, second_done = threading.Event(), threading.Event()
        release_first, release_second = threading.Event(), threading.Event()
        release_second.set()
        first = threading.Thread(target=self._import, args=(data, first_done, release_first, results, "first"))
        second = threading.Thread(target=self._import, args=(data, second_done, release_second, results, "second"))
        with responses.RequestsMock():
            first.start()
            self.assertTrue(first_done.wait(60))
            second.start()
            # The second waits on the first's uncommitted key.
            self.assertFalse(second_done.wait(2))
            release_first.set()
            first.join(60)
            second.join(60)
        (first_stats, first_ack), (second_stats, second_ack) = results["first"], results["second"]
        self.assertEqual(first_stats["created"], 1)
        self.assertEqual(first_ack, ["Race1"])
        self.assertEqual(second_stats["failed"], 1)
        self.assertEqual(second_ack, [], "the loser acknowledges nothing")
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM sale_order WHERE marketplace_config_id = %s AND cartona_id = 'Race1'",
                [self.config_id],
            )
            self.assertEqual(cr.fetchone()[0], 1)
            cr.execute("SELECT count(*) FROM res_partner WHERE cartona_id = 'RACE-1'")
            self.assertEqual(cr.fetchone()[0], 1, "the loser's retailer was rolled back with it")
