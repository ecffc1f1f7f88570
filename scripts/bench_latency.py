"""Latency benchmark: how long an order made on the Cartona sandbox takes to be
committed in Odoo, at the traffic a supplier really has, against Odoo serving
with its job runner, crons and order poller; each order is confirmed in Odoo
as soon as it is there, which pushes its status and stock back to Cartona.

Cases, in one run (``--case``, several allowed, in this order):

- ``first``: the first order after the configuration was created (by
  scripts/demo_setup.py, just before, while Odoo runs);
- ``steady``: one order every 6 s (``--steady``);
- ``idle``: no order for two minutes (``--idle``);
- ``sparse``: one order every 30 s (``--sparse``);
- ``rare``: one order every 5 minutes (``--rare``);
- ``restart``: the first order once Odoo has restarted (scripts/bench_latency.sh
  restarts it and runs this case again).

For each: p50/p95/max of the order latency and of the pushes (a status or
stock, commit -> Cartona has it; ``scripts/latency.py``), the
``pull-orders`` requests per minute (the acknowledgements' reads of their
orders included) and the rows PostgreSQL inserted in every table
(``pg_stat_user_tables``), per order, or per hour when idle, with the tables
that took most.
"""

import argparse
import importlib.util
import json
import threading
import time
import urllib.request
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import odoo
from odoo import SUPERUSER_ID, api

HERE = Path(__file__).resolve().parent
CASES = ("first", "steady", "idle", "sparse", "rare", "restart")
DEFAULT_CASES = ["first", "steady", "idle", "sparse", "rare"]


def load(name):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


latency = load("latency")


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def schedule(text):
    """``"20x6"`` -> ``[(20, 6.0)]``: orders x seconds apart, comma-separated."""
    plan = []
    for part in text.split(","):
        count, every = part.split("x")
        plan.append((int(count), float(every)))
    return plan


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="Odoo configuration file")
    parser.add_argument("--database", required=True)
    parser.add_argument("--sandbox", required=True, help="the sandbox's URL")
    parser.add_argument("--case", action="append", choices=CASES, help=f"default: {', '.join(DEFAULT_CASES)}")
    parser.add_argument("--steady", type=schedule, default="20x6", help="orders x seconds apart (default 20x6)")
    parser.add_argument("--sparse", type=schedule, default="6x30", help="orders x seconds apart (default 6x30)")
    parser.add_argument("--rare", type=schedule, default="2x300", help="orders x seconds apart (default 2x300)")
    parser.add_argument("--idle", type=float, default=120, help="seconds of the idle case (default 120)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for an order and its pushes")
    return parser.parse_args()


def sandbox_post(url, path):
    request = urllib.request.Request(f"{url}{path}", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def journal(url, start=0):
    return latency.read_journal(url, start)


def set_up_products(registry):
    """Every catalogue product mapped (no order waits), and none runs out."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        warehouse = env.ref("stock.warehouse0")
        for product in env["product.product"].search([("default_code", "=like", "CRT-%")]):
            if not product.cartona_id:
                product.cartona_id = product.default_code.removeprefix("CRT-")
            env["stock.quant"].with_context(inventory_mode=True).create(
                {"product_id": product.id, "location_id": warehouse.lot_stock_id.id, "inventory_quantity": 1_000_000}
            ).action_apply_inventory()


def confirm_new_orders(registry, since):
    """Confirm, each in its own transaction, the Cartona orders imported since
    ``since`` and still quotations."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        ids = (
            env["sale.order"]
            .search([("marketplace_config_id", "!=", False), ("state", "=", "draft"), ("create_date", ">=", since)])
            .ids
        )
        for order_id in ids:
            try:
                env["sale.order"].browse(order_id).action_confirm()
                cr.commit()
            except Exception as exc:  # a pull writing the same order: the next round confirms it
                cr.rollback()
                print(f"  confirming order {order_id} failed, will retry: {exc!r}")


# PostgreSQL's backends report their statistics at most once a second, and
# an idle one after 10 s: read the counters only after that long.
STATS_LAG_SECONDS = 11


def inserted_rows(connection):
    """``Counter({table: rows inserted since the statistics were reset})``,
    as PostgreSQL's backends reported them ``STATS_LAG_SECONDS`` from now."""
    time.sleep(STATS_LAG_SECONDS)
    with connection.cursor() as cr:
        cr.execute("SELECT pg_stat_clear_snapshot()")
        cr.execute("SELECT relname, n_tup_ins FROM pg_stat_user_tables")
        return Counter(dict(cr.fetchall()))


class Case:
    """What one case measures, from ``start`` (its first order) to its end."""

    def __init__(self, name, url, connection):
        self.name, self.url, self.connection = name, url, connection
        self.start_rows = inserted_rows(connection)  # first: it waits for the counters
        self.since = utcnow()
        self.start_journal = journal(url)["next"]
        self.started = time.monotonic()
        self.made = []

    def order(self):
        self.made.append(sandbox_post(self.url, "/sandbox/orders")["hashed_id"])

    def in_odoo(self):
        acks, _pushes = latency.read_jobs(self.connection, self.since)
        committed = {hashed_id for _at, ids in acks for hashed_id in ids}
        return set(self.made) <= committed

    def report(self):
        seconds = time.monotonic() - self.started
        events = journal(self.url, self.start_journal)["events"]
        acks, pushes = latency.read_jobs(self.connection, self.since)
        orders = latency.order_latencies(events, acks)
        pushes = latency.push_latencies(events, pushes)
        pulls = sum(event["kind"] == "pull" for event in events)
        rows = inserted_rows(self.connection) - self.start_rows
        if self.made:  # what the orders themselves add drowns polling's cost: per order
            scale, unit = 1 / len(self.made), "per order"
        else:
            scale, unit = 3600 / seconds, "per hour"
        top = ", ".join(f"{table} {count * scale:.0f}" for table, count in rows.most_common(4))
        return [
            latency.summary(f"[{self.name}] Orders (Cartona -> Odoo)", orders),
            latency.summary(f"[{self.name}] Pushes (Odoo -> Cartona)", pushes),
            f"[{self.name}] {seconds:.0f} s: {pulls * 60 / seconds:.1f} pull requests per minute, "
            f"{sum(rows.values()) * scale:.0f} rows added {unit} ({top})",
        ]


def wait_for(condition, timeout, step=0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def jobs_due(connection):
    """Pushes and acknowledgements still to run: what a case leaves behind."""
    with connection.cursor() as cr:
        cr.execute(
            "SELECT count(*) FROM queue_job WHERE channel = 'root.marketplace' "
            "AND state IN ('pending', 'enqueued', 'started') AND (eta IS NULL OR eta < now() AT TIME ZONE 'UTC')"
        )
        return cr.fetchone()[0]


def run_case(name, plan, registry, url, connection, timeout):
    """Make the orders of ``plan`` (``[(count, seconds apart)]``), confirming
    those imported as they come, and wait for the last one. A case starts
    once what the one before left has gone out."""
    wait_for(lambda: not jobs_due(connection), timeout)
    case = Case(name, url, connection)
    ordered = ", then ".join(f"{count} orders {every:g} s apart" for count, every in plan if count)
    print(f"{name}: {ordered or f'{plan[0][1]:g} s without an order'}", flush=True)
    stop = threading.Event()

    def confirm():
        while not stop.is_set():
            confirm_new_orders(registry, case.since)
            stop.wait(0.5)

    confirming = threading.Thread(target=confirm, daemon=True)
    confirming.start()
    for count, every in plan:
        if not count:  # idle
            time.sleep(every)
        for _i in range(count):
            # A gap before each order: the poller is as idle before the first.
            time.sleep(every)
            case.order()
    if not wait_for(case.in_odoo, timeout):
        print(f"  [{name}] some orders were not in Odoo after {timeout:g} s")
    stop.set()
    confirming.join()
    return case.report()


def main():
    args = parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(args.database)
    url = args.sandbox.rstrip("/")
    connection = latency.connect(args.config, args.database)
    cases = args.case or DEFAULT_CASES
    lines = []
    if "first" in cases:
        set_up_products(registry)
    for name in cases:
        plans = {"steady": args.steady, "sparse": args.sparse, "rare": args.rare, "idle": [(0, args.idle)]}
        plan = plans.get(name, [(1, 0)])
        lines += run_case(name, plan, registry, url, connection, args.timeout)
    print()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
