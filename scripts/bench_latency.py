"""Latency benchmark: orders made on the Cartona sandbox one after another,
against Odoo serving with its job runner and the order poller; each order is
confirmed in Odoo as soon as it is there, which pushes its status and the
stock it reserves back to Cartona. Then Cartona stays idle for a while.

Run by ``make bench-latency`` (scripts/bench_latency.sh), which starts the
sandbox and Odoo. Prints p50/p95 of both latencies (``scripts/latency.py``),
the polls made while idle, and what one idle poll costs.
"""

import argparse
import importlib.util
import json
import threading
import time
import urllib.request
from datetime import datetime, timezone
from itertools import pairwise
from pathlib import Path

import odoo
from odoo import SUPERUSER_ID, api

HERE = Path(__file__).resolve().parent


def load(name):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


latency = load("latency")


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="Odoo configuration file")
    parser.add_argument("--database", required=True)
    parser.add_argument("--sandbox", required=True, help="the sandbox's URL")
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between two orders")
    parser.add_argument("--idle", type=float, default=150, help="seconds of an idle Cartona at the end")
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for the last pushes")
    return parser.parse_args()


def sandbox_post(url, path):
    request = urllib.request.Request(f"{url}{path}", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def journal(url, start=0):
    return latency.read_journal(url, start)


def set_up_products(registry):
    """Every catalogue product mapped (no order waits: an idle Cartona sends
    nothing), and none runs out during the run."""
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
    ``since`` and still quotations; returns how many were confirmed."""
    confirmed = 0
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
                confirmed += 1
            except Exception as exc:  # a pull writing the same order: the next round confirms it
                cr.rollback()
                print(f"  confirming order {order_id} failed, will retry: {exc!r}")
    return confirmed


def busy_jobs(registry):
    with registry.cursor() as cr:
        cr.execute(
            "SELECT count(*) FROM queue_job WHERE channel = 'root.marketplace' "
            "AND state IN ('pending', 'enqueued', 'started') AND (eta IS NULL OR eta < now() AT TIME ZONE 'UTC')"
        )
        return cr.fetchone()[0]


def parked(registry):
    with registry.cursor() as cr:
        cr.execute("SELECT cartona_id FROM marketplace_parked_order")
        return {row[0] for row in cr.fetchall()}


def wait_for(condition, timeout, step=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def idle_poll_cost(registry, url):
    """Queries and requests of one poll of an idle Cartona, as the poll job
    runs it in a server whose caches are warm: a second poll in a fresh
    environment. Rolled back; retried while the server's own poll holds the
    pull lock."""
    measured = []
    for _attempt in range(20):
        start = journal(url)["next"]
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            config_id = env["marketplace.config"].search([], limit=1).id
            env.invalidate_all()
            count = cr.sql_log_count
            env["marketplace.poller"]._poll(config_id, 3)
            env.flush_all()
            queries = cr.sql_log_count - count
            cr.rollback()
        requests = [event for event in journal(url, start)["events"] if event["kind"] == "pull"]
        if requests:
            measured.append((queries, len(requests)))
            if len(measured) == 2:
                return measured[-1]
        time.sleep(0.7)
    return None, 0


def main():
    args = parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(args.database)
    url = args.sandbox.rstrip("/")
    set_up_products(registry)

    # Warm-up: the first order of a quiet Cartona is found by the minute cron,
    # which starts the poller.
    print("Warm-up: one order, found by the pull cron (up to a minute)")
    first = sandbox_post(url, "/sandbox/orders")["hashed_id"]
    if not wait_for(lambda: any(e["kind"] == "ack" and e["hashed_id"] == first for e in journal(url)["events"]), 120):
        raise SystemExit("The warm-up order was never acknowledged: is Odoo's cron running?")

    since = utcnow()
    print(f"Run: {args.orders} orders, one every {args.every:g} s, each confirmed in Odoo once imported")

    def make_orders():
        for _i in range(args.orders):
            sandbox_post(url, "/sandbox/orders")
            time.sleep(args.every)

    maker = threading.Thread(target=make_orders, daemon=True)
    maker.start()
    confirmed = 0
    while maker.is_alive():
        confirmed += confirm_new_orders(registry, since)
        time.sleep(0.3)

    def settled():
        nonlocal confirmed
        confirmed += confirm_new_orders(registry, since)
        acked = {e["hashed_id"] for e in journal(url)["events"] if e["kind"] == "ack"}
        made = {e["hashed_id"] for e in journal(url)["events"] if e["kind"] == "order" and e["at"] >= str(since)}
        return made <= acked | parked(registry) and not busy_jobs(registry)

    if not wait_for(settled, args.timeout):
        print("  (some orders or pushes were still waiting at the timeout)")
    report = latency.Report(latency.connect(args.config, args.database), url, since)
    report.refresh()
    waiting = sum(e["kind"] == "order" for e in report.journal) - len(report.orders)
    print(f"  {confirmed} orders confirmed in Odoo; {waiting} orders not in Odoo")

    print(f"Idle: no order for {args.idle:g} s")
    start, idle_since = journal(url)["next"], time.monotonic()
    time.sleep(args.idle)
    pulls = [e for e in journal(url, start)["events"] if e["kind"] == "pull"]
    moments = [latency.moment(e["at"]) for e in pulls]
    gaps = [round((b - a).total_seconds()) for a, b in pairwise(moments)]
    queries, requests = idle_poll_cost(registry, url)

    print()
    print("\n".join(report.summary()))
    print(f"Idle Cartona: {len(pulls)} pulls in {time.monotonic() - idle_since:.0f} s, seconds between them: {gaps}")
    print(f"One idle poll: {requests} request, {queries} queries (the poll job's own, fresh caches)")


if __name__ == "__main__":
    main()
