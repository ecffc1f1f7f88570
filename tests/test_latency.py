"""The latency figures of ``make run`` and ``make bench-latency``: the sandbox's
journal (scripts/cartona_sandbox.py) and how scripts/latency.py reads it."""

import importlib.util
from datetime import datetime, timedelta
from pathlib import Path

from .common import PlainCase, load_sandbox_module

LATENCY_PATH = Path(__file__).parents[1] / "scripts" / "latency.py"


def load_latency_module():
    spec = importlib.util.spec_from_file_location("latency", LATENCY_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestLatency(PlainCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox_module = load_sandbox_module()
        cls.latency = load_latency_module()

    def test_the_journal_says_what_happened_when(self):
        sandbox = self.sandbox_module.Sandbox("token", seed=3)
        order = sandbox.new_order()
        sandbox.pull_orders()
        sandbox.bulk_update_status([{"hashed_id": order["hashed_id"], "status": "synced"}])
        sandbox.bulk_update_status([{"hashed_id": order["hashed_id"], "status": "approved"}])
        sandbox.bulk_update_products([{"supplier_product_id": "518001", "available_stock_quantity": 3}])
        journal = sandbox.journal_since(0)
        self.assertEqual(journal["next"], 5)
        events = journal["events"]
        self.assertEqual([event["kind"] for event in events], ["order", "pull", "ack", "status", "product"])
        self.assertEqual(events[1]["orders"], 1)
        self.assertEqual(events[3]["status"], "approved")
        self.assertEqual(events[4]["supplier_product_id"], "518001")
        moments = [datetime.fromisoformat(event["at"]) for event in events]
        self.assertEqual(moments, sorted(moments))
        self.assertEqual(sandbox.journal_since(4)["events"], events[4:])

    def test_latencies_and_percentiles(self):
        latency = self.latency
        t0 = datetime(2026, 11, 26, 12, 0, 0)

        def at(seconds):
            return t0 + timedelta(seconds=seconds)

        journal = [
            {"at": str(at(0)), "kind": "order", "hashed_id": "A"},
            {"at": str(at(1)), "kind": "order", "hashed_id": "B"},
            {"at": str(at(2)), "kind": "order", "hashed_id": "Waiting"},
            {"at": str(at(10.5)), "kind": "status", "hashed_id": "A", "status": "approved"},
            {"at": str(at(11)), "kind": "product", "supplier_product_id": "1"},
            {"at": str(at(11.1)), "kind": "product", "supplier_product_id": "2"},
        ]
        # B was acknowledged twice (it came back before the first ack landed):
        # the first import counts.
        acks = [(at(4), ["B"]), (at(3), ["A", "B"])]
        self.assertEqual(latency.order_latencies(journal, acks), {"A": 3.0, "B": 2.0})
        jobs = [
            ("push", "_push_marketplace_status", at(10), at(10.2), at(10.6)),
            ("stock", "_publish_pending", at(10.5), at(10.9), at(11.2)),
            # A job that sent nothing (Cartona had it already) has no latency.
            ("noop", "_push_marketplace_status", at(20), at(20.1), at(20.2)),
        ]
        self.assertEqual(latency.push_latencies(journal, jobs), {("push", "status"): 0.5, ("stock", "product"): 0.5})
        values = list(range(1, 101))
        self.assertEqual((latency.percentile(values, 0.5), latency.percentile(values, 0.95)), (50, 95))
        self.assertIsNone(latency.percentile([], 0.5))
        self.assertIn("p95 3.00 s", latency.summary("Orders", {"A": 3.0, "B": 2.0}))
