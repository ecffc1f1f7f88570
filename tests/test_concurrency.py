import threading
from unittest.mock import patch

import responses

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.sql_db import db_connect

from odoo.addons.cartona_marketplace import const
from odoo.addons.cartona_marketplace.exceptions import MarketplaceRetryableError
from odoo.addons.queue_job.exception import RetryableJobError

from .common import BASE_URL, CommittedCase, ImportCase


class TestPullLock(ImportCase):
    def test_a_second_pull_of_the_same_marketplace_skips_quietly(self):
        other = db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute("SELECT pg_advisory_lock(%s, %s)", [const.PULL_LOCK_KEY, self.config.id])
            self.assertIsNone(self.env["marketplace.order.pull"]._pull_and_process_orders(self.config))
            self.assertFalse(self.http.calls, "the loser does not even call Cartona")
            self.assertEqual(self.config.action_pull_orders()["params"]["type"], "warning")
        finally:
            other.execute("SELECT pg_advisory_unlock_all()")
            other.close()
        self.serve_pages([])
        self.assertIsNotNone(self.env["marketplace.order.pull"]._pull_and_process_orders(self.config))


class TestConcurrentImport(CommittedCase):
    """Two real transactions import the same order at once: the database's
    unique key leaves one sale order."""

    KEY = "Race"

    def _import(self, data, imported, release, results, name):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            processor, config = env["marketplace.order.processor"], env["marketplace.config"].browse(self.config_id)
            results[name] = processor._process_page(config, [data])
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
            self.assert_waits_on_a_lock(second)
            self.assertFalse(second_done.is_set())
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


class TestEditLock(CommittedCase):
    """An edit job waiting on Cartona locks no row: the order is written
    meanwhile, and the job's error status outlives its rollback."""

    KEY = "EditLock"

    def _push(self, order_id, results):
        try:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                results["message"] = env["sale.order"].browse(order_id)._push_order_edits()
        except Exception as exc:  # reported to the test's thread
            results["error"] = exc

    def _edited_order(self):
        """A committed Cartona order with a line changed as the connector
        (no job queued here), yet an edit Cartona has not."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            order = env["sale.order"].search([("marketplace_config_id", "=", self.config_id)])
            if not order:
                processor, config = env["marketplace.order.processor"], env["marketplace.config"].browse(self.config_id)
                processor._process_page(config, [self._order()])
                order = env["sale.order"].search([("marketplace_config_id", "=", self.config_id)])
            order.order_line.filtered("cartona_line_id")[:1].product_uom_qty += 1
            return order.id

    def test_the_order_is_written_while_its_edit_waits_on_cartona(self):
        order_id = self._edited_order()
        in_call, release, results = threading.Event(), threading.Event(), {}

        def answer(request):
            in_call.set()
            release.wait(30)
            return 503, {}, "{}"

        job = threading.Thread(target=self._push, args=(order_id, results))
        with responses.RequestsMock() as http:
            http.add_callback(responses.POST, BASE_URL + const.ENDPOINT_ORDER_DETAILS, callback=answer)
            job.start()
            try:
                self.assertTrue(in_call.wait(30))
                # An import writes the order while Cartona has not answered.
                with self.registry.cursor() as cr:
                    cr.execute("SET LOCAL lock_timeout = '2s'")
                    cr.execute("UPDATE sale_order SET cartona_note = 'Call first' WHERE id = %s", [order_id])
            finally:
                release.set()
                job.join(60)
        self.assertIsInstance(results.get("error"), MarketplaceRetryableError)
        with self.registry.cursor() as cr:
            cr.execute("SELECT marketplace_sync_status, cartona_note FROM sale_order WHERE id = %s", [order_id])
            self.assertEqual(cr.fetchone(), ("error", "Call first"))

    def test_a_job_that_waited_for_another_is_retried_on_what_it_recorded(self):
        order_id = self._edited_order()
        results, other = {}, db_connect(self.env.cr.dbname).cursor()
        job = threading.Thread(target=self._push, args=(order_id, results))
        try:
            # The first job holds the order; the second has its snapshot and waits.
            other.execute("SELECT pg_advisory_lock(%s, %s)", [const.ORDER_EDIT_LOCK_KEY, order_id])
            with responses.RequestsMock(assert_all_requests_are_fired=False) as http:
                http.add(responses.POST, BASE_URL + const.ENDPOINT_ORDER_DETAILS, json=[])
                job.start()
                self.assert_waits_on_a_lock(job)  # the second job waits
                # The first records what Cartona accepted.
                with self.registry.cursor() as cr:
                    cr.execute(
                        "UPDATE sale_order_line SET cartona_amount = product_uom_qty WHERE order_id = %s", [order_id]
                    )
                other.execute("SELECT pg_advisory_unlock_all()")
                job.join(60)
                self.assertFalse(http.calls, "nothing sent twice")
        finally:
            other.execute("SELECT pg_advisory_unlock_all()")
            other.close()
        self.assertIsInstance(results.get("error"), RetryableJobError)


class TestPageTogetherCommitted(CommittedCase):
    """A page processed together and rolled back by a failing order leaves
    each log line once, though logs are written through their own connection."""

    KEY = "Together"

    def test_a_warning_of_a_rolled_back_page_is_logged_once(self):
        mismatch, good, failing = self._order(), self._order(), self._order()
        mismatch.update(hashed_id="Together1", total_price=12345)
        good.update(hashed_id="Together2")
        failing.update(hashed_id="Together3")
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            processor, config = env["marketplace.order.processor"], env["marketplace.config"].browse(self.config_id)
            lines = type(env["marketplace.order.lines"])
            check_totals = lines._check_totals

            def refusing(self, sale, order):
                # Odoo refusing the last order, after the first one's warning was written.
                check_totals(self, sale, order)
                if order.hashed_id == "Together3":
                    raise UserError(self.env._("refused"))

            with patch.object(lines, "_check_totals", refusing):
                stats, ack = processor._process_page(config, [mismatch, good, failing])
            env.flush_all()
        self.assertEqual((stats["created"], stats["failed"]), (2, 1), stats)
        self.assertEqual(sorted(ack), ["Together1", "Together2"])
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT status, count(*) FROM marketplace_sync_log WHERE marketplace_config_id = %s "
                "AND (message LIKE '%%12345%%' OR message LIKE '%%Together3%%') GROUP BY status",
                [self.config_id],
            )
            self.assertEqual(dict(cr.fetchall()), {"warning": 1, "error": 1})


class TestConcurrentPage(CommittedCase):
    """Two real transactions import pages that share an order: the one that
    waited gives up that order alone and imports the rest of its page."""

    KEY = "Overlap"

    def _page(self, *numbers):
        page = []
        for number in numbers:
            data = self._order()
            data.update(hashed_id=f"{self.KEY}{number}", receipt_id=f"C-{self.KEY}{number}")
            page.append(data)
        return page

    def test_the_shared_order_is_imported_once(self):
        results = {}
        first_done, release_first = threading.Event(), threading.Event()
        second_done, release_second = threading.Event(), threading.Event()
        release_second.set()

        def run(page, done, release, name):
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                processor, config = env["marketplace.order.processor"], env["marketplace.config"].browse(self.config_id)
                results[name] = processor._process_page(config, page)
                done.set()
                release.wait(30)
                env.flush_all()

        first = threading.Thread(target=run, args=(self._page(1, 2), first_done, release_first, "first"))
        second = threading.Thread(target=run, args=(self._page(3, 2, 4), second_done, release_second, "second"))
        with responses.RequestsMock():
            first.start()
            self.assertTrue(first_done.wait(60))
            second.start()
            self.assert_waits_on_a_lock(second)  # on the first's uncommitted key
            self.assertFalse(second_done.is_set())
            release_first.set()
            first.join(60)
            second.join(60)
        (first_stats, first_ack), (second_stats, second_ack) = results["first"], results["second"]
        self.assertEqual((first_stats["created"], sorted(first_ack)), (2, ["Overlap1", "Overlap2"]))
        self.assertEqual((second_stats["created"], second_stats["failed"]), (2, 1), second_stats)
        self.assertEqual(sorted(second_ack), ["Overlap3", "Overlap4"])
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT cartona_id, count(*) FROM sale_order WHERE marketplace_config_id = %s GROUP BY cartona_id",
                [self.config_id],
            )
            self.assertEqual(dict(cr.fetchall()), {f"Overlap{n}": 1 for n in (1, 2, 3, 4)})
