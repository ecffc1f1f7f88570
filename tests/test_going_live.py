"""Going live on a Cartona account that already has orders: what Cartona held
before is acknowledged, not delivered a second time."""

import importlib.util
import json
from datetime import timedelta
from pathlib import Path

from odoo import fields
from odoo.exceptions import UserError

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import FakeCartona, make_user, perform_jobs
from .test_invoicing import InvoicingCase

MIGRATION = Path(__file__).parent.parent / "migrations" / "18.0.1.3.0" / "post-import_orders_from.py"


def stamp(moment):
    """A timestamp as Cartona writes ``updated_at``."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class TestGoingLive(InvoicingCase):
    def setUp(self):
        super().setUp()
        self.now = fields.Datetime.now()
        self.answer_posts()

    def answer_posts(self):
        self.http.post(self.url("order/update-order-status"), json=[])
        self.http.post(self.url("supplier-product/bulk-update"), json=[])

    def changed(self, source, days_ago, **changes):
        return self.order(source, updated_at=stamp(self.now - timedelta(days=days_ago)), **changes)

    def acknowledged(self, trap):
        """Perform the queued jobs; the hashed ids Cartona was told are ``synced``."""
        perform_jobs(trap)
        calls = [c for c in self.http.calls if c.request.url.endswith("order/update-order-status")]
        items = [item for call in calls for item in json.loads(call.request.body)]
        self.assertEqual({item["status"] for item in items}, {"synced"})
        return sorted(item["hashed_id"] for item in items)

    def stock(self, product):
        return product.with_context(warehouse_id=self.warehouse.id).qty_available

    def assert_no_stock_or_money(self, sale):
        self.assertFalse(sale.picking_ids)
        self.assertFalse(sale.invoice_ids)
        self.assertFalse(self.env["account.move"].search([("partner_id", "=", sale.partner_id.id)]))

    def test_an_order_delivered_ten_days_ago_is_acknowledged_on_the_first_pull_not_delivered_again(self):
        sugar, moves = self.stock(self.sugar), self.env["account.move"].search_count([])
        delivered = self.changed("Lr4tN8wQ", 10, status="delivered")
        with trap_jobs() as trap:
            stats = self.pull([delivered])
        self.assertEqual(stats["skipped"], 1)
        self.assertFalse(self.sale("Lr4tN8wQ"))
        self.assertEqual(self.stock(self.sugar), sugar)
        self.assertEqual(self.env["account.move"].search_count([]), moves)
        # The first pull Cartona answered is when orders became Odoo's business.
        self.assertEqual(self.config.import_orders_from, self.env.cr.now())
        self.assertEqual(self.acknowledged(trap), ["Lr4tN8wQ"])
        log = self.logs(("operation_type", "=", "order_skipped"))
        self.assertEqual(len(log), 1)
        self.assertIn("Lr4tN8wQ", log.message)
        self.assertIn("not imported", log.message)
        self.assertEqual(self.config.skipped_order_count, 1)
        # It stays out when Cartona sends it again (unacknowledged meanwhile).
        with trap_jobs():
            self.assertEqual(self.pull([delivered])["skipped"], 1)
        self.assertFalse(self.sale("Lr4tN8wQ"))

    def history(self, page_size=None):
        """A configuration that never pulled, and a Cartona that pages and
        filters on when each order last changed, as Cartona does: its orders
        say nothing of that themselves."""
        self.config.last_pull_date = False
        if page_size:
            self.config.pull_page_size = page_size
        self.http.reset()
        self.http.post(self.url("supplier-product/bulk-update"), json=[])
        cartona = FakeCartona(self.http)
        two_days_ago = self.now - timedelta(days=2)
        cartona.list(self.order("Qx7mK2aP", status="pending"), self.order("Lr4tN8wQ"), when=two_days_ago)
        return cartona

    def test_the_first_pull_acknowledges_what_cartona_held_before_going_live(self):
        cartona = self.history()
        with trap_jobs() as trap:
            stats = self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
            perform_jobs(trap)
        self.assertEqual(stats["skipped"], 2)
        self.assertFalse(self.sale("Qx7mK2aP") | self.sale("Lr4tN8wQ"))
        going_live = fields.Datetime.to_string(self.config.import_orders_from)
        # Cartona's own filter tells what changed before going live.
        self.assertEqual((cartona.requests[0].get("from"), cartona.requests[0]["to"]), (None, going_live))
        self.assertEqual(sorted(cartona.acknowledged), ["Lr4tN8wQ", "Qx7mK2aP"])
        self.assertEqual(self.config.skipped_order_count, 2)
        self.assertEqual(self.config.last_pull_date, self.config.import_orders_from)
        # An order placed since is Odoo's business: the next pull imports it.
        cartona.list(self.order("Mn9bH3kT", status="pending"))
        with trap_jobs():
            stats = self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
        self.assertEqual((stats["created"], stats["skipped"]), (1, 0))
        self.assertTrue(self.sale("Mn9bH3kT"))
        self.assertNotIn("to", cartona.requests[-1])

    def test_the_cron_walks_the_history_page_by_page(self):
        cartona = self.history(page_size=1)
        with trap_jobs() as trap:
            # One page a run; the acknowledgements go out after the walk (their channel is busy).
            while self.env["marketplace.order.pull"]._pull_next_page(self.config)[0]:
                pass
            self.assertEqual(len(cartona.requests), 3, "two pages, then an empty one")
            # The history walk is read once it ends, whatever it acknowledged: its window gains no orders.
            self.assertEqual(self.config.last_pull_date, self.config.import_orders_from)
            perform_jobs(trap)
        self.assertFalse(self.sale("Qx7mK2aP") | self.sale("Lr4tN8wQ"))
        self.assertEqual(sorted(cartona.acknowledged), ["Lr4tN8wQ", "Qx7mK2aP"])
        going_live = fields.Datetime.to_string(self.config.import_orders_from)
        self.assertEqual({params["to"] for params in cartona.requests[:3]}, {going_live})
        # The next walk looks forward from going live.
        cartona.list(self.order("Mn9bH3kT", status="pending"))
        with trap_jobs():
            self.env["marketplace.order.pull"]._pull_next_page(self.config)
        forward = cartona.requests[-1]
        self.assertNotIn("to", forward)
        overlap = timedelta(minutes=self.config.pull_overlap_minutes)
        self.assertEqual(forward["from"], fields.Datetime.to_string(self.config.import_orders_from - overlap))
        self.assertTrue(self.sale("Mn9bH3kT"))

    def test_a_first_pull_that_finds_nothing_fixes_the_bound_too(self):
        # Else a later pull would fix it later, and drop the orders made in between.
        with trap_jobs():
            self.pull([])
        self.assertEqual(self.config.import_orders_from, self.env.cr.now())
        self.config.import_orders_from = False
        self.serve_pages([])
        self.env["marketplace.order.pull"]._pull_next_page(self.config)  # the cron's walk
        self.assertEqual(self.config.import_orders_from, self.env.cr.now())

    def test_an_order_changed_before_import_orders_from_is_acknowledged_and_counted(self):
        self.config.import_orders_from = self.now - timedelta(days=1)
        old = self.changed("Lr4tN8wQ", 2)
        recent = self.changed("Qx7mK2aP", 0, status="pending")
        undated = self.order("Mn9bH3kT", status="pending")
        with trap_jobs() as trap:
            stats = self.pull([old, recent, undated])
        self.assertEqual((stats["skipped"], stats["created"]), (1, 2))
        self.assertFalse(self.sale("Lr4tN8wQ"))
        self.assertTrue(self.sale("Qx7mK2aP"))
        # Without a date Cartona's order cannot be told old: it is imported.
        self.assertTrue(self.sale("Mn9bH3kT"))
        self.assertEqual(self.acknowledged(trap), ["Lr4tN8wQ", "Mn9bH3kT", "Qx7mK2aP"])
        # A manager's choice stays: the pull does not move it.
        self.assertEqual(self.config.import_orders_from, self.now - timedelta(days=1))
        self.assertEqual(self.config.skipped_order_count, 1)
        logs = self.env["marketplace.sync.log"].search(self.config.action_view_skipped_orders()["domain"])
        self.assertEqual(len(logs), 1)
        self.assertIn("Lr4tN8wQ", logs.message)

    def test_a_waiting_order_imports_whatever_its_date(self):
        self.config.import_orders_from = self.now - timedelta(days=30)
        waiting = self.changed("Lr4tN8wQ", 2)
        waiting["order_details"][0].update(supplier_product_id="999999", internal_product_id=None)
        with trap_jobs():
            self.assertEqual(self.pull([waiting])["parked"], 1)
        # Moved forward past the waiting order, the bound does not drop it: Odoo holds it already.
        self.config.import_orders_from = self.now
        waiting["order_details"][0]["supplier_product_id"] = "220731"
        with trap_jobs():
            self.assertEqual(self.pull([waiting])["created"], 1)
        self.assertEqual(self.sale("Lr4tN8wQ").state, "sale")

    def test_a_finished_order_first_seen_is_recorded_without_moving_stock_or_money(self):
        self.config.import_orders_from = self.now - timedelta(days=30)
        sugar, tea = self.stock(self.sugar), self.stock(self.tea)
        by_supplier = self.changed("Lr4tN8wQ", 2, status="delivered")
        by_cartona = self.changed("Pz2cV6yE", 2, status="delivered")
        cancelled = self.changed("Qx7mK2aP", 2, status="cancelled_by_retailer")
        returned = self.order("Mn9bH3kT", status="returned")
        with trap_jobs() as trap:
            stats = self.pull([by_supplier, by_cartona, cancelled, returned])
        self.assertEqual(stats["recorded"], 4)
        for hashed_id in ("Lr4tN8wQ", "Pz2cV6yE", "Mn9bH3kT"):
            sale = self.sale(hashed_id)
            self.assertEqual(sale.state, "draft")
            self.assert_no_stock_or_money(sale)
            self.assertIn("moves no stock or money", sale.message_ids[0].body)
        self.assertEqual(self.sale("Pz2cV6yE").marketplace_status, "delivered")
        self.assertEqual(self.sale("Qx7mK2aP").state, "cancel")
        self.assert_no_stock_or_money(self.sale("Qx7mK2aP"))
        self.assertEqual((self.stock(self.sugar), self.stock(self.tea)), (sugar, tea))
        self.assertEqual(self.acknowledged(trap), ["Lr4tN8wQ", "Mn9bH3kT", "Pz2cV6yE", "Qx7mK2aP"])
        logs = self.logs(("operation_type", "=", "order_process"), ("status", "=", "success"))
        self.assertEqual(len(logs), 4)
        self.assertTrue(all("recorded as" in log.message for log in logs))
        # Nobody confirms it by mistake: it would be delivered and invoiced a second time.
        salesman = make_user(self.env, "live-salesman", "salesman")
        with self.raises(UserError):
            self.sale("Lr4tN8wQ").with_user(salesman).action_confirm()
        self.assertEqual(self.sale("Lr4tN8wQ").state, "draft")
        # Nothing of it goes back to Cartona: a later pull of the same order changes nothing.
        with trap_jobs() as trap:
            self.pull([dict(by_supplier, note_message="seen again")])
        self.assertEqual(self.sale("Lr4tN8wQ").state, "draft")
        self.assertFalse([job for job in trap.enqueued_jobs if job.method_name == "_push_marketplace_status"])

    def test_a_finished_order_is_imported_live_when_the_supplier_asks(self):
        self.config.import_orders_from = self.now - timedelta(days=30)
        self.config.import_final_orders_live = True
        sugar = self.stock(self.sugar)
        with trap_jobs() as trap:
            stats = self.pull([self.changed("Lr4tN8wQ", 2, status="delivered")])
        self.assertEqual(stats["created"], 1)
        sale = self.sale("Lr4tN8wQ")
        self.assertEqual(sale.state, "sale")
        self.assertEqual(sale.picking_ids.state, "done")
        self.assertLess(self.stock(self.sugar), sugar)
        self.assertEqual(sale.invoice_ids.state, "posted")
        self.assertEqual(self.acknowledged(trap), ["Lr4tN8wQ"])

    def test_fetch_order_takes_an_old_order_and_imports_it_live_on_request(self):
        self.config.import_orders_from = self.now
        old = self.changed("Lr4tN8wQ", 40, status="delivered")
        self.serve_pages([old])
        wizard = self.env["marketplace.fetch.order.wizard"].create(
            {"marketplace_config_id": self.config.id, "reference": "Lr4tN8wQ"}
        )
        with trap_jobs():
            wizard.action_fetch()
        # Asked for by a person: not held back by the bound, but recorded, not delivered.
        sale = self.sale("Lr4tN8wQ")
        self.assertEqual(sale.state, "draft")
        self.assert_no_stock_or_money(sale)

        by_cartona = self.changed("Pz2cV6yE", 40, status="delivered")
        self.http.reset()
        self.serve_pages([by_cartona])
        self.answer_posts()
        wizard = self.env["marketplace.fetch.order.wizard"].create(
            {"marketplace_config_id": self.config.id, "reference": "Pz2cV6yE", "import_live": True}
        )
        with trap_jobs() as trap:
            wizard.action_fetch()
        sale = self.sale("Pz2cV6yE")
        self.assertEqual(sale.state, "sale")
        self.assertEqual(sale.invoice_ids.state, "posted")
        self.assertEqual(self.acknowledged(trap), ["Pz2cV6yE"])

    def test_a_connection_test_accepted_before_the_first_pull_is_when_orders_became_odoos(self):
        self.http.get(self.url("supplier-product"), json=[])
        self.http.get(self.url("order/pull-orders"), status=401, json={"message": "Unauthenticated"})
        with trap_jobs():
            self.config.action_pull_orders()  # refused: not a contact
        self.assertFalse(self.config.import_orders_from)
        self.config.action_test_connection()
        tested = self.logs(("operation_type", "=", "connection_test"), ("status", "=", "success"))
        three_days_ago = self.now - timedelta(days=3)
        self.env.cr.execute(
            "UPDATE marketplace_sync_log SET create_date = %s WHERE id = %s", [three_days_ago, tested.id]
        )
        self.env.invalidate_all()
        self.http.reset()
        self.answer_posts()
        with trap_jobs():
            stats = self.pull([self.changed("Lr4tN8wQ", 2), self.changed("Qx7mK2aP", 4, status="pending")])
        self.assertEqual(self.config.import_orders_from, three_days_ago)
        self.assertEqual((stats["created"], stats["skipped"]), (1, 1))
        self.assertTrue(self.sale("Lr4tN8wQ"))

    def test_the_upgrade_keeps_a_live_configuration_importing_everything(self):
        idle = self.env["marketplace.config"].create({"name": "Never pulled", "api_base_url": "http://127.0.0.1:9/"})
        with trap_jobs():
            self.pull([self.order("Qx7mK2aP", status="pending")])
        self.env.flush_all()
        # As before the upgrade: no bound, and a live configuration whose
        # orders are its only trace (the state row of its pull made anew).
        self.env.cr.execute(
            "DELETE FROM marketplace_sync_state WHERE marketplace_config_id = %s AND concern = 'order_pull'",
            [self.config.id],
        )
        self.env.invalidate_all()
        spec = importlib.util.spec_from_file_location("post_import_orders_from", MIGRATION)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(self.env.cr, "18.0.1.2.0")
        self.env.invalidate_all()
        self.assertEqual(self.config.import_orders_from, self.config.create_date)
        self.assertFalse(idle.import_orders_from)
        # Never "now": an order in flight, changed since the configuration was made, still imports.
        self.assertLessEqual(self.config.import_orders_from, self.now)
