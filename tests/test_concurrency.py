import threading

import responses

from odoo import SUPERUSER_ID, api
from odoo.sql_db import db_connect

from odoo.addons.cartona_marketplace import const

from .common import CommittedCase, ImportCase


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


class TestConcurrentImport(CommittedCase):
    """Two real transactions import the same order at once: the database's
    unique key leaves one sale order."""

    KEY = "Race"

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
            cr.execute("SELECT count(*) FROM res_partner WHERE cartona_id = 'Race-1'")
            self.assertEqual(cr.fetchone()[0], 1, "the loser's retailer was rolled back with it")
