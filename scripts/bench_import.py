"""Order import benchmark: N Cartona orders of L lines each, pulled through
the real path (``_pull_and_process_orders`` over HTTP from the sandbox,
acknowledgements included), against two baselines that create and confirm
the same sale orders, with the same partners and products, through plain ORM:
order by order (``create`` + ``action_confirm`` each), and batched (a page of
orders in one ``create`` and one ``action_confirm``, Odoo's own floor).
Each shape is measured ``--runs`` times; the ratios are printed per run and
as their median. ``--profile`` profiles the import of one page of 100 orders
with cProfile.

Run by ``make bench`` (scripts/bench.sh) on a fresh database. The sandbox
(scripts/cartona_sandbox.py) serves the generated orders on 127.0.0.1, so
the figures are the connector's own cost, not the network's. Queries are
counted on every cursor, the sync log's included.
"""

import argparse
import contextlib
import cProfile
import importlib.util
import io
import logging
import os
import platform
import pstats
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from jobs import run_pending  # scripts/ is the script's own folder, first on the path

import odoo
from odoo import SUPERUSER_ID, Command, api

ACK_METHOD = "_acknowledge_orders"
TOKEN = "bench-token"
PRICE = 10.0
QUERIES = [0]


def load_sandbox():
    path = Path(__file__).with_name("cartona_sandbox.py")
    spec = importlib.util.spec_from_file_location("cartona_sandbox", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.log = lambda message: None  # one line per request would drown the figures
    return module


def count_queries():
    """Count the queries of every cursor (the sync log writes through its own)."""
    execute = odoo.sql_db.Cursor.execute

    def counted(self, *args, **kwargs):
        QUERIES[0] += 1
        return execute(self, *args, **kwargs)

    odoo.sql_db.Cursor.execute = counted


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="Odoo configuration file")
    parser.add_argument("--database", required=True)
    parser.add_argument(
        "--shapes", default="100x5,25x40", help="orders x lines, comma separated (default: 100x5,25x40)"
    )
    parser.add_argument("--page-size", type=int, default=50, help="orders per pulled page")
    parser.add_argument("--orders-per-retailer", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5, help="runs of each shape; ratios are their median")
    parser.add_argument("--savepoints", action="store_true", help="also the baseline with a savepoint per order")
    parser.add_argument("--profile", action="store_true", help="profile the import of one page of 100 orders")
    return parser.parse_args()


def machine(cr):
    cr.execute("SHOW server_version")
    pg = cr.fetchone()[0]
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores (load {load}), Python {platform.python_version()}, "
        f"PostgreSQL {pg}, Odoo {odoo.release.version}"
    )


class Measure:
    """Wall time and queries of the blocks it measures, added up."""

    def __init__(self):
        self.seconds = self.queries = 0

    def __enter__(self):
        self._queries, self._start = QUERIES[0], time.monotonic()
        return self

    def __exit__(self, *exc):
        self.seconds += time.monotonic() - self._start
        self.queries += QUERIES[0] - self._queries

    def figures(self, orders, lines):
        return (
            f"{orders / self.seconds:7.1f} orders/s ({self.seconds:.1f}s), "
            f"{self.queries / orders:.1f} queries/order, {self.queries / (orders * lines):.2f} queries/line"
        )


def make_orders(prefix, count, lines, products, retailers):
    """``count`` approved orders of ``lines`` lines each, spread over the retailers."""
    orders = []
    for n in range(count):
        retailer = retailers[n % len(retailers)]
        details = []
        for i in range(lines):
            code = products[(n + i) % len(products)]
            details.append(
                {
                    "id": n * 1000 + i + 1,
                    "supplier_product_id": code,
                    "internal_product_id": f"{code}#1",
                    "product_name": f"Bench {code}",
                    "unit": "packet",
                    "unit_count": 1,
                    "amount": 1 + (n + i) % 5,
                    "selling_price": PRICE,
                    "applied_supplier_discount": 0,
                    "applied_cartona_discount": 0,
                    "comment": None,
                }
            )
        orders.append(
            {
                "hashed_id": f"{prefix}{n:06d}",
                "supplier_code": "1",
                "status": "approved",
                "delivered_by": "delivered_by_supplier",
                "delivery_day": None,
                "estimated_delivery_day": "2026-12-01",
                "retailer_preferred_delivery_date": None,
                "cancellation_reason": "",
                "return_reason": None,
                "total_price": sum(line["amount"] * PRICE for line in details),
                "applied_supplier_rebate": 0,
                "cartona_credit": 0,
                "installment_cost": 0,
                "wallet_top_up": 0,
                "distribution_route_code": "002#001",
                "edited_by_admin": False,
                "receipt_id": f"C-{prefix}-{n:06d}",
                "note_message": None,
                "retailer": retailer,
                "order_details": details,
            }
        )
    return orders


def retailers_of(prefix, count):
    return [
        {
            "retailer_name": f"Bench market {prefix}{r}",
            "retailer_code": f"{prefix}R{r:05d}",
            "retailer_number": f"+2010{r:08d}",
            "retailer_number2": "",
            "retailer_address": f"{r} Tahrir street, Giza",
            "address_notes": "",
        }
        for r in range(count)
    ]


def set_up(registry, base_url, page_size, product_count):
    """A configuration on the sandbox and ``product_count`` mapped products in stock."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        warehouse = env["stock.warehouse"].search([("company_id", "=", env.company.id)], limit=1)
        config = env["marketplace.config"].create(
            {
                "name": "Cartona (bench)",
                "api_base_url": base_url,
                "auth_token": TOKEN,
                "pull_page_size": page_size,
                "warehouse_id": warehouse.id,
                "auto_pull_orders": False,
            }
        )
        codes = [f"BP{i:04d}" for i in range(product_count)]
        products = env["product.product"].create(
            [
                {
                    "name": f"Bench {code}",
                    "is_storable": True,
                    "list_price": PRICE,
                    "cartona_id": code,
                    "cartona_internal_id": f"{code}#1",
                }
                for code in codes
            ]
        )
        for product in products:
            env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, 1_000_000)
        env.flush_all()
        cr.commit()
        # Publishing the new products is not what is measured.
        env["queue.job"].search([]).unlink()
        cr.commit()
        return config.id, codes


def create_partners(registry, config_id, retailers):
    """The retailers as the connector would have created them: both runs use them."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        customers = env["marketplace.customer"]
        from odoo.addons.cartona_marketplace.cartona import payloads

        env["res.partner"].create(
            [
                dict(
                    customers._partner_vals(
                        payloads.parse_order(make_orders("P", 1, 1, ["BP0000"], [retailer])[0]).retailer
                    ),
                    customer_rank=1,
                    marketplace_customer_type="retailer",
                )
                for retailer in retailers
            ]
        )
        env.flush_all()


def run_ack_jobs(registry):
    return run_pending(registry, ACK_METHOD)


def pull(registry, config_id):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        stats = env["marketplace.order.pull"]._pull_and_process_orders(env["marketplace.config"].browse(config_id))
        env.flush_all()
    return stats


def import_run(registry, sandbox, config_id, orders, measure=None):
    """Serve ``orders``, pull them and run the acknowledgement jobs; returns
    (stats, requests)."""
    with sandbox.lock:
        for order in orders:
            sandbox.orders[order["hashed_id"]] = {
                "order": order,
                "otp": None,
                "version": 1,
                "acked_version": 0,
                "created_at": "2000-01-01 00:00:00",
                "updated_at": "2999-01-01 00:00:00",  # inside any pull window
                "history": [],
            }
    requests = sandbox.requests
    with measure or Measure():
        stats = pull(registry, config_id)
        run_ack_jobs(registry)
    return stats, sandbox.requests - requests


def baseline_run(registry, config_id, orders, measure=None, savepoints=False, batched=False):
    """The same sale orders through plain ``create`` + ``action_confirm``, in
    one transaction: order by order; with ``savepoints``, each order in its
    own, as the import isolates them once an order of their page fails; or
    ``batched``, all in one ``create`` and one ``action_confirm``."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        config = env["marketplace.config"].browse(config_id)
        with measure or Measure():
            partners = {
                p.cartona_id: p
                for p in env["res.partner"].search(
                    [("cartona_id", "in", [order["retailer"]["retailer_code"] for order in orders])]
                )
            }
            products = {
                p.cartona_id: p
                for p in env["product.product"].search(
                    [
                        (
                            "cartona_id",
                            "in",
                            list({line["supplier_product_id"] for o in orders for line in o["order_details"]}),
                        )
                    ]
                )
            }
            vals_list = [
                {
                    "partner_id": partners[order["retailer"]["retailer_code"]].id,
                    "client_order_ref": order["receipt_id"],
                    "warehouse_id": config.warehouse_id.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": products[line["supplier_product_id"]].id,
                                "product_uom_qty": line["amount"],
                                "price_unit": line["selling_price"],
                                "tax_id": [Command.set(config.tax_ids.ids)],
                            }
                        )
                        for line in order["order_details"]
                    ],
                }
                for order in orders
            ]
            if batched:
                env["sale.order"].create(vals_list).action_confirm()
            for vals in vals_list if not batched else []:
                with cr.savepoint() if savepoints else contextlib.nullcontext():
                    env["sale.order"].create(vals).action_confirm()
            env.flush_all()
            cr.commit()


def check_imported(registry, config_id, orders):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        sales = env["sale.order"].search(
            [("marketplace_config_id", "=", config_id), ("cartona_id", "in", [o["hashed_id"] for o in orders])]
        )
        confirmed = sales.filtered(lambda s: s.state == "sale")
        lines = sum(len(o["order_details"]) for o in orders)
        if len(confirmed) != len(orders) or len(confirmed.order_line) != lines:
            raise SystemExit(f"unexpected import: {len(confirmed)} confirmed orders, {len(confirmed.order_line)} lines")


def measure_shape(registry, sandbox, config_id, codes, retailers, prefix, count, lines, args):
    """One run of a shape: ``{run name: Measure}``, and the import's outcomes
    and requests. Page by page, each run in turn: a machine shared with
    others slows them alike."""
    measures = {name: Measure() for name in ("import", "per order", "batched", "savepoints")}
    stats, requests = Counter(), 0
    for start in range(0, count, args.page_size):
        size = min(args.page_size, count - start)
        orders = make_orders(f"{prefix}I{start}-", size, lines, codes, retailers)
        page_stats, page_requests = import_run(registry, sandbox, config_id, orders, measures["import"])
        check_imported(registry, config_id, orders)
        stats += page_stats
        requests += page_requests
        for name, options in (("per order", {}), ("batched", {"batched": True}), ("savepoints", {"savepoints": True})):
            if name == "savepoints" and not args.savepoints:
                continue
            orders = make_orders(f"{prefix}{name[0]}{start}-", size, lines, codes, retailers)
            baseline_run(registry, config_id, orders, measures[name], **options)
    return measures, stats, requests


def report_shape(registry, runs, count, lines, retailers):
    with registry.cursor() as cr:
        where = machine(cr)
    print(f"{count} orders x {lines} lines ({retailers} retailers), {len(runs)} runs — {where}")
    names = [name for name in runs[0][0] if runs[0][0][name].seconds]
    for name in names:
        label = {
            "import": "import",
            "per order": "baseline, create + confirm per order",
            "batched": "baseline, one create + one confirm",
            "savepoints": "baseline, savepoint per order",
        }[name]
        middle = sorted((measures[name] for measures, _s, _r in runs), key=lambda m: m.seconds)[len(runs) // 2]
        print(f"  {label:<37}: {middle.figures(count, lines)} (median run)")
    for name in names[1:]:
        times = [measures["import"].seconds / measures[name].seconds for measures, _s, _r in runs]
        queries = [measures["import"].queries / measures[name].queries for measures, _s, _r in runs]
        print(
            f"  import / {name:<10}: time {statistics.median(times):.2f} median "
            f"({', '.join(f'{t:.2f}' for t in times)}), queries {statistics.median(queries):.2f}"
        )
    _measures, stats, requests = runs[-1]
    print(f"  requests to Cartona per run: {requests}; outcomes {dict(stats)}\n")


def profile_page(registry, sandbox, config_id, codes, retailers):
    """cProfile of the import of one page of 100 orders of 5 lines, pull and
    acknowledgement jobs included: the functions with most time of their own,
    and the connector's steps by cumulative time."""
    create_partners(registry, config_id, retailers)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["marketplace.config"].browse(config_id).pull_page_size = 100
        env.flush_all()
    profiler = cProfile.Profile()
    queries = QUERIES[0]
    profiler.enable()
    import_run(registry, sandbox, config_id, make_orders("PROF", 100, 5, codes, retailers))
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    print(f"profile: one page of 100 orders x 5 lines, {total:.1f} s under cProfile, {QUERIES[0] - queries} queries")
    shares = Counter()
    for (path, _line, name), (_calls, _primitive, own, _cumulative, _callers) in stats.stats.items():
        shares[profile_area(path, name)] += own
    for area, seconds in shares.most_common():
        print(f"  {area:<42} {seconds:6.2f} s  {100 * seconds / total:4.1f} %")
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("cumulative").print_stats(r"cartona_marketplace/models", 12)
    stats.sort_stats("tottime").print_stats(12)
    print(out.getvalue())


PROFILE_AREAS = (
    ("cartona_marketplace", "the connector's own code"),
    ("queue_job", "queue_job"),
    ("addons/stock", "Odoo stock (moves, reservation)"),
    ("addons/sale", "Odoo sale"),
    ("addons/account", "Odoo account (taxes, amounts)"),
    ("addons/mail", "Odoo mail (tracking, followers)"),
    ("addons/product", "Odoo product"),
    ("odoo/", "Odoo ORM and framework"),
    ("requests", "HTTP client"),
    ("urllib3", "HTTP client"),
    ("http/", "HTTP client"),
)


def profile_area(path, name):
    if "psycopg2" in name:
        return "PostgreSQL (waiting for queries)"
    if "socket" in name:
        return "HTTP client (waiting for the sandbox)"
    return next((area for needle, area in PROFILE_AREAS if needle in path), "other Python")


def main():
    args = parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    logging.getLogger("odoo.addons.cartona_marketplace").setLevel(logging.WARNING)
    shapes = [tuple(int(x) for x in shape.split("x")) for shape in args.shapes.split(",")]
    sandbox_module = load_sandbox()
    sandbox = sandbox_module.Sandbox(TOKEN, seed=1)
    server = sandbox_module.make_server("127.0.0.1", 0, sandbox)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/"

    registry = odoo.modules.registry.Registry(args.database)
    count_queries()
    config_id, codes = set_up(registry, base_url, args.page_size, 2 * max(lines for _n, lines in shapes))
    with registry.cursor() as cr:
        print(f"machine: {machine(cr)}")
    print(
        f"pull page size {args.page_size}, one pull per page; every order approved (imported and confirmed); "
        "the import's time includes its acknowledgement jobs\n"
    )

    # Warm-up: caches and first-time code paths out of the figures.
    warm_retailers = retailers_of("W", 2)
    create_partners(registry, config_id, warm_retailers)
    import_run(registry, sandbox, config_id, make_orders("WI", 4, 3, codes, warm_retailers))
    baseline_run(registry, config_id, make_orders("WB", 4, 3, codes, warm_retailers))
    baseline_run(registry, config_id, make_orders("WC", 4, 3, codes, warm_retailers), batched=True)

    for index, (count, lines) in enumerate(shapes):
        retailers = retailers_of(f"S{index}", max(1, count // args.orders_per_retailer))
        create_partners(registry, config_id, retailers)
        runs = [
            measure_shape(registry, sandbox, config_id, codes, retailers, f"S{index}R{run}", count, lines, args)
            for run in range(args.runs)
        ]
        report_shape(registry, runs, count, lines, len(retailers))

    if args.profile:
        profile_page(registry, sandbox, config_id, codes, retailers_of("PR", 20))

    requests = sandbox.requests
    with Measure() as idle:
        stats = pull(registry, config_id)
    with registry.cursor() as cr:
        where = machine(cr)
    print(
        f"idle pull (nothing new): {sandbox.requests - requests} request(s), {idle.queries} queries, "
        f"{idle.seconds * 1000:.0f} ms — {where}"
    )
    if sum(stats.values()):
        raise SystemExit(f"the idle pull found orders: {dict(stats)}")
    server.shutdown()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
