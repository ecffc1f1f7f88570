"""Dashboard benchmark: the Marketplace dashboard read over a year of sync logs.

Run by ``make bench-dashboard`` (scripts/bench_dashboard.sh) on a fresh
database. The logs are made by PostgreSQL (``generate_series``), spread over
365 days and three marketplaces in the proportions a busy supplier sees.
Prints the machine, then the median wall time of each read.
"""

import argparse
import logging
import os
import platform
import statistics
import time

import odoo
from odoo import SUPERUSER_ID, api

CONFIGS = 3
# The kanban card's fields, as the web client asks for them.
CARD_FIELDS = (
    "name",
    "connection_status",
    "last_error",
    "last_sync_date",
    "last_pull_status",
    "last_pull_message",
    "last_publication_date",
    "orders_today_count",
    "parked_order_count",
    "error_product_count",
    "failed_job_count",
    "pending_job_count",
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="Odoo configuration file")
    parser.add_argument("--database", required=True)
    parser.add_argument("--logs", type=int, default=3_000_000, help="sync log rows to generate")
    parser.add_argument("--runs", type=int, default=7)
    return parser.parse_args()


def machine(cr):
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
        with open("/proc/meminfo", encoding="utf-8") as info:
            memory = int(next(line.split()[1] for line in info if line.startswith("MemTotal"))) // 1024
    except (OSError, StopIteration):
        memory = "?"
    cr.execute("SHOW server_version")
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, {memory} MB, {system}, PostgreSQL {cr.fetchone()[0]}"


def set_up(registry, count):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        configs = env["marketplace.config"].create(
            [
                {"name": f"Cartona (bench {i})", "api_base_url": "http://127.0.0.1:9/", "auth_token": f"bench-{i}"}
                for i in range(CONFIGS)
            ]
        )
        env.flush_all()
        # One row per operation, oldest first (ids follow time, as in real life):
        # mostly pulls and stock publications, 5 % errors, now and then a refused token.
        cr.execute(
            """
            INSERT INTO marketplace_sync_log
                (marketplace_config_id, operation_type, status, message, records_processed, status_code,
                 create_date, write_date, create_uid, write_uid)
            SELECT (%(configs)s)[1 + g %% %(count_configs)s],
                   (ARRAY['order_pull', 'order_pull', 'order_pull', 'stock_sync', 'stock_sync', 'stock_sync',
                          'product_sync', 'order_process', 'order_process', 'order_ack'])[1 + (g / 3) %% 10],
                   CASE WHEN g %% 20 = 7 THEN 'error' WHEN g %% 20 = 8 THEN 'warning' ELSE 'success' END,
                   'Bench log ' || g,
                   g %% 50,
                   CASE WHEN g %% 20000 = 7 THEN 401 END,
                   now() at time zone 'UTC' - interval '365 days' * (1 - g::float / %(total)s),
                   now() at time zone 'UTC', 1, 1
              FROM generate_series(1, %(total)s) AS g
            """,
            {"configs": configs.ids, "count_configs": CONFIGS, "total": count},
        )
        # Each marketplace's latest word about its token is a successful test.
        for config in configs:
            env["marketplace.sync.log"].create(
                {
                    "marketplace_config_id": config.id,
                    "operation_type": "connection_test",
                    "status": "success",
                    "message": "Connected",
                }
            )
        env.flush_all()
        cr.execute("ANALYZE marketplace_sync_log")
        return configs.ids


def timed(registry, runs, func):
    times = []
    for _run in range(runs):
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"})
            start = time.perf_counter()
            func(env)
            times.append(time.perf_counter() - start)
            cr.rollback()
    return statistics.median(times) * 1000


def main():
    args = parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    logging.getLogger("odoo.addons.cartona_marketplace").setLevel(logging.WARNING)
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        print(f"machine: {machine(cr)}")
    start = time.monotonic()
    config_ids = set_up(registry, args.logs)
    print(f"set-up: {args.logs:,} sync logs over 365 days, {CONFIGS} marketplaces, in {time.monotonic() - start:.0f}s")

    def card(env):
        env["marketplace.config"].web_search_read([], {name: {} for name in CARD_FIELDS})

    def last_error_by_aggregate(env):
        # What the configuration read before: the largest id of its errors, over all of them.
        env["marketplace.sync.log"]._read_group(
            [("marketplace_config_id", "in", config_ids), ("status", "=", "error")],
            ["marketplace_config_id"],
            ["id:max"],
        )

    def log_graph(env):
        env["marketplace.sync.log"].read_group(
            [("marketplace_config_id", "=", config_ids[0])],
            ["records_processed:sum"],
            ["create_date:day", "status"],
            lazy=False,
        )

    def log_graph_month(env):
        env["marketplace.sync.log"].read_group(
            [
                ("marketplace_config_id", "=", config_ids[0]),
                ("create_date", ">=", odoo.fields.Datetime.subtract(odoo.fields.Datetime.now(), days=30)),
            ],
            ["records_processed:sum"],
            ["create_date:day", "operation_type", "status"],
            lazy=False,
        )

    print(f"dashboard cards ({CONFIGS} marketplaces, every figure): {timed(registry, args.runs, card):.0f} ms")
    print(
        f"  for comparison, last errors by aggregate (the former read): "
        f"{timed(registry, args.runs, last_error_by_aggregate):.0f} ms"
    )
    print(
        f"sync log graph, one marketplace, last 30 days by day/operation/status: "
        f"{timed(registry, args.runs, log_graph_month):.0f} ms"
    )
    print(
        f"sync log graph, one marketplace, the whole year by day/status: "
        f"{timed(registry, max(1, args.runs // 3), log_graph):.0f} ms"
    )


if __name__ == "__main__":
    main()
