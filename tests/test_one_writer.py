import json
import threading
from datetime import datetime

import responses

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import AccessError
from odoo.modules.migration import load_script
from odoo.tools import SQL

from odoo.addons.cartona_marketplace import const
from odoo.addons.cartona_marketplace.exceptions import MarketplaceAuthError

from .common import BASE_URL, CommittedCase, MarketplaceCase, make_user

PULL_URL = BASE_URL + const.ENDPOINT_PULL_ORDERS
PRODUCTS_URL = BASE_URL + const.ENDPOINT_PRODUCTS


class TestOneWriterPerRow(CommittedCase):
    """A pull commits while other transactions record failures and product
    syncs of the same configuration."""

    KEY = "Writer"

    def _config(self, env):
        return env["marketplace.config"].browse(self.config_id)

    def _committed_config(self, check):
        with self.registry.cursor() as cr:
            check(api.Environment(cr, SUPERUSER_ID, {})["marketplace.config"].browse(self.config_id))

    def _pull(self, results):
        try:
            with self.registry.cursor() as cr:
                # The acknowledgement goes out at once: a committed job would
                # be run by the test server's job runner, against no Cartona.
                env = api.Environment(cr, SUPERUSER_ID, {"queue_job__no_delay": True})
                results["stats"] = env["marketplace.order.pull"]._pull_and_process_orders(self._config(env))
                env.flush_all()
        except Exception as exc:  # reported to the test's thread
            results["error"] = exc

    def test_pull_commits_while_failures_and_product_sync_commit(self):
        in_progress, release = threading.Event(), threading.Event()

        def page(request):
            if request.params.get("page") != "1":
                return 200, {}, "[]"
            # The pull has its snapshot and holds its lock: hold it here.
            in_progress.set()
            release.wait(30)
            return 200, {}, json.dumps([self._order()])

        results = {}
        pull = threading.Thread(target=self._pull, args=(results,))
        with responses.RequestsMock(assert_all_requests_are_fired=False) as http:
            http.add_callback(responses.GET, PULL_URL, callback=page)
            http.get(PRODUCTS_URL, status=401, body="token revoked")
            http.post(BASE_URL + const.ENDPOINT_ORDER_STATUS, json=[])
            pull.start()
            try:
                self.assertTrue(in_progress.wait(60))
                # A job meets a refused token and fails: what it records is committed.
                with self.assertRaises(MarketplaceAuthError), self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    env["marketplace.api"]._get_products(self._config(env))
                # The product-sync cron runs and commits its daily reconciliation.
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    env["product.product"]._cron_sync_product_data()
                    env.flush_all()
            finally:
                release.set()
                pull.join(60)
        self.assertNotIn("error", results)
        self.assertEqual(results["stats"]["created"], 1)

        def committed(config):
            self.assertTrue(config.last_pull_date)
            self.assertTrue(config.last_sync_date)
            self.assertEqual(config.total_orders_pulled, 1)
            self.assertEqual(config.connection_status, "error")
            self.assertIn("token revoked", config.connection_message)
            self.assertIn("token revoked", config.last_error)
            self.assertTrue(config.last_reconciliation_date)
            self.assertIn(config, config.search([("connection_status", "=", "error")]))
            sale = config.env["sale.order"].search([("marketplace_config_id", "=", config.id)])
            self.assertEqual(sale.mapped("cartona_id"), ["Writer1"])

        self._committed_config(committed)

    def test_a_pull_older_than_the_last_one_skips_quietly(self):
        """Pull B began before pull A committed, and takes the lock after A:
        it would overwrite A's state, so it skips before calling Cartona."""
        for case in ("state created by the other pull", "state written by the other pull"):
            with self.subTest(case), responses.RequestsMock() as http:
                http.get(PULL_URL, json=[])
                if case.startswith("state created"):
                    with self.registry.cursor() as cr:
                        cr.execute(
                            "DELETE FROM marketplace_sync_state WHERE marketplace_config_id = %s", [self.config_id]
                        )
                with self.registry.cursor() as late_cr:
                    late_env = api.Environment(late_cr, SUPERUSER_ID, {})
                    late_cr.execute("SELECT id FROM marketplace_config WHERE id = %s", [self.config_id])  # its snapshot
                    with self.registry.cursor() as cr:
                        env = api.Environment(cr, SUPERUSER_ID, {})
                        self.assertIsNotNone(env["marketplace.order.pull"]._pull_and_process_orders(self._config(env)))
                        env.flush_all()
                    self.assertEqual(len(http.calls), 1)
                    self.assertIsNone(
                        late_env["marketplace.order.pull"]._pull_and_process_orders(self._config(late_env))
                    )
                    self.assertEqual(len(http.calls), 1, "the loser does not call Cartona")
                    # Its transaction is still usable.
                    late_env["marketplace.sync.log"].search_count([])


class TestSyncState(MarketplaceCase):
    def state(self, concern):
        return self.env["marketplace.sync.state"].search(
            [("marketplace_config_id", "=", self.config.id), ("concern", "=", concern)]
        )

    def test_manager_moves_the_watermark_users_only_read_the_state(self):
        when = datetime(2026, 11, 1, 8, 0)
        manager = make_user(self.env, "writer_manager", "mp_manager")
        self.config.with_user(manager).last_pull_date = when
        self.assertEqual(self.state("order_pull").last_pull_date, when)
        self.assertEqual(self.config.last_pull_date, when)
        user = make_user(self.env, "writer_user", "mp_user")
        state = self.state("order_pull").with_user(user)
        self.assertEqual(state.last_pull_date, when)
        with self.raises(AccessError):
            state.write({"last_pull_date": False})
        with self.raises(AccessError):
            self.config.with_user(user).last_pull_date = False
        self.assertEqual(self.config.last_pull_date, when, "refused before anything was written")
        # Another company's user sees neither the configuration nor its state.
        other = self.env["res.company"].create({"name": "Other supplier"})
        stranger = make_user(
            self.env,
            "writer_stranger",
            "mp_user",
            company_id=other.id,
            company_ids=[Command.set(other.ids)],
        )
        self.assertFalse(self.env["marketplace.sync.state"].with_user(stranger).search([]))

    def test_connection_status_from_the_logs(self):
        log = self.env["marketplace.sync.log"]
        self.assertEqual(self.config.connection_status, "not_tested")
        log._log_operation(self.config.id, "connection_test", "success", "Connected")
        self.assertEqual(self.config.connection_status, "connected")
        log._log_operation(self.config.id, "order_pull", "error", "Cartona answered 503", status_code=503)
        self.assertEqual(self.config.connection_status, "connected", "an outage says nothing of the token")
        self.assertEqual(self.config.last_error, "Cartona answered 503")
        log._log_operation(self.config.id, "order_ack", "error", "refused the token", status_code=403)
        self.assertEqual(
            (self.config.connection_status, self.config.connection_message), ("error", "refused the token")
        )
        # The "Connection errors" filter, and its kin.
        configs = self.env["marketplace.config"]
        untested = configs.create({"name": "Untested", "api_base_url": BASE_URL})
        both = [("id", "in", (self.config | untested).ids)]
        for domain, found in [
            ([("connection_status", "=", "error")], self.config),
            ([("connection_status", "!=", "error")], untested),
            ([("connection_status", "=", "not_tested")], untested),
            ([("connection_status", "not in", ["not_tested"])], self.config),
            ([("connection_status", "in", ["connected", "not_tested"])], untested),
        ]:
            self.assertEqual(configs.search(domain + both), found, domain)


class TestSyncStateMigration(MarketplaceCase):
    OLD_COLUMNS = {
        "last_pull_date": "timestamp",
        "pull_next_page": "integer",
        "pull_walk_started": "timestamp",
        "pull_walk_from": "timestamp",
        "total_orders_pulled": "integer",
        "last_sync_date": "timestamp",
        "last_reconciliation_date": "timestamp",
        "connection_status": "varchar",
        "connection_message": "text",
        "last_error": "text",
    }

    def test_previous_version_keeps_its_pull_state(self):
        # The previous version's columns, as an upgraded database keeps them (and no state rows).
        cr = self.env.cr
        cr.execute("DELETE FROM marketplace_sync_state WHERE marketplace_config_id = %s", [self.config.id])
        for name, kind in self.OLD_COLUMNS.items():
            cr.execute(SQL("ALTER TABLE marketplace_config ADD COLUMN %s %s", SQL.identifier(name), SQL(kind)))
        old = {
            "last_pull_date": datetime(2026, 11, 20, 9, 0),
            "pull_next_page": 3,
            "pull_walk_started": datetime(2026, 11, 20, 10, 0),
            "pull_walk_from": datetime(2026, 11, 20, 8, 0),
            "total_orders_pulled": 412,
            "last_sync_date": datetime(2026, 11, 20, 10, 1),
            "last_reconciliation_date": datetime(2026, 11, 19, 3, 0),
            "connection_status": "error",
            "connection_message": "Cartona refused the token (401)",
            "last_error": "Cartona answered 503 for GET order/pull-orders",
        }
        assignments = SQL(", ").join(SQL("%s = %s", SQL.identifier(name), value) for name, value in old.items())
        cr.execute(SQL("UPDATE marketplace_config SET %s WHERE id = %s", assignments, self.config.id))
        migration = load_script("cartona_marketplace/migrations/18.0.1.1.0/post-sync_state.py", "post_sync_state")
        migration.migrate(cr, "18.0.1.0.0")
        self.env.invalidate_all()
        self.assertEqual({name: self.config[name] for name in old}, old)
