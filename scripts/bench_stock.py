"""Stock publishing benchmark: 10,000 mapped products changed by one inventory.

Run by ``make bench`` (scripts/bench.sh) on a fresh database. Cartona is a
``responses`` stand-in on 127.0.0.1 that accepts every bulk update, so the
figures are the connector's own cost, not the network's.
"""

import argparse
import json
import logging
import math
import time

import responses
from bench_import import machine  # scripts/ is the script's own folder, first on the path
from jobs import run_pending

import odoo
from odoo import SUPERUSER_ID, api

BASE_URL = "http://127.0.0.1:8069/cartona/api/v1/"
JOB_METHOD = "_publish_pending"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="Odoo configuration file")
    parser.add_argument("--database", required=True)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=100)
    return parser.parse_args()


def pending_jobs(env):
    return env["queue.job"].search([("method_name", "=", JOB_METHOD), ("state", "=", "pending")])


def set_up(registry, count, batch_size):
    """A config and ``count`` products already published (stock 0, price 10)."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        warehouse = env["stock.warehouse"].search([("company_id", "=", env.company.id)], limit=1)
        env["marketplace.config"].create(
            {
                "name": "Cartona (bench)",
                "api_base_url": BASE_URL,
                "auth_token": "bench-token",
                "batch_size": batch_size,
                "warehouse_id": warehouse.id,
            }
        )
        products = env["product.product"].create(
            [
                {"name": f"Bench {i}", "type": "consu", "is_storable": True, "list_price": 10.0, "cartona_id": f"B{i}"}
                for i in range(count)
            ]
        )
        products.write(
            {"marketplace_sync_status": "synced", "marketplace_published_price": 10.0, "marketplace_published_qty": 0}
        )
        env.flush_all()
        # The mapping queued its own publications at commit; the bench measures the inventory only.
        cr.commit()
        pending_jobs(env).unlink()
        env["marketplace.publication"].search([]).unlink()
        cr.commit()
        return products.ids, warehouse.lot_stock_id.id


def apply_inventory(registry, product_ids, location_id):
    """One transaction: quants counted and applied; returns (apply s, collect+enqueue s, rows, jobs)."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        quants = (
            env["stock.quant"]
            .with_context(inventory_mode=True)
            .create(
                [
                    {"product_id": pid, "location_id": location_id, "inventory_quantity": 1 + i % 50}
                    for i, pid in enumerate(product_ids)
                ]
            )
        )
        start = time.monotonic()
        quants.action_apply_inventory()
        env.flush_all()
        applied = time.monotonic()
        # What cr.commit() does before committing, timed on its own.
        cr.precommit.run()
        collected = time.monotonic()
        cr.commit()
        rows = env["marketplace.publication"].search_count([])
        return applied - start, collected - applied, rows, len(pending_jobs(env))


def run_jobs(registry):
    """Run the pending drain, and the next drain each run queues, until none
    is left; returns (seconds, runs)."""
    start = time.monotonic()
    runs = run_pending(registry, JOB_METHOD)
    return time.monotonic() - start, runs


def main():
    args = parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    logging.getLogger("odoo.addons.cartona_marketplace").setLevel(logging.WARNING)
    registry = odoo.modules.registry.Registry(args.database)
    items_sent = []

    def accept(request):
        items_sent.extend(json.loads(request.body))
        return 200, {}, "[]"

    with responses.RequestsMock(assert_all_requests_are_fired=False) as http:
        http.add_callback(responses.POST, BASE_URL + "supplier-product/bulk-update", callback=accept)
        start = time.monotonic()
        product_ids, location_id = set_up(registry, args.products, args.batch_size)
        print(f"set-up: {args.products} products mapped in {time.monotonic() - start:.1f}s")
        apply_s, collect_s, rows, jobs = apply_inventory(registry, product_ids, location_id)
        run_s, runs = run_jobs(registry)
        requests = len(http.calls)

    expected = math.ceil(args.products / args.batch_size)
    with registry.cursor() as cr:
        print(f"machine: {machine(cr)}")
    print(f"inventory applied ({args.products} quants, one transaction): {apply_s:.1f}s")
    print(f"collect + enqueue at commit: {collect_s:.2f}s, {rows} rows, {jobs} drain job queued")
    print(
        f"drain runs: {run_s:.1f}s, {runs} runs, {requests} HTTP requests (ceil(n / batch) = {expected}), "
        f"{len(items_sent)} items sent"
    )
    if jobs != 1 or runs != expected or requests != expected or len(items_sent) != args.products:
        raise SystemExit("unexpected counts")


if __name__ == "__main__":
    main()
