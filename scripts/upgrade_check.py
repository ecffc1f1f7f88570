"""Seed a database with the previous version of the addon, then check that the
upgraded database kept every record and its pull state (``make test-upgrade``).

    python scripts/upgrade_check.py seed  --config C --database D --snapshot S [--addons-path P]
    python scripts/upgrade_check.py check --config C --database D --snapshot S

``seed`` runs against the previous version: it uses only what that version has.
"""

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import odoo
from odoo import SUPERUSER_ID, api, fields

CONFIG_NAME = "Upgrade check"
PAGE = Path(__file__).resolve().parent.parent / "tests" / "data" / "pull_orders_page.json"
# Product keys of the example page; 110774 / 479 stays unmapped, so one order waits.
PRODUCTS = [
    ("Sunflower oil 1 L", False, "311#1"),
    ("Egyptian rice 1 kg", False, "518#1"),
    ("Soda 330 ml", "220731", "904#2"),
    ("White sugar", "220790", "1679#2"),
]
PULL_STATE = (
    "last_pull_date",
    "pull_next_page",
    "pull_walk_started",
    "pull_walk_from",
    "total_orders_pulled",
    "last_reconciliation_date",
)


def moment(minutes_ago):
    return (datetime.now() - timedelta(minutes=minutes_ago)).replace(microsecond=0)


def _plain(value):
    return fields.Datetime.to_string(value) if isinstance(value, datetime) else value


def seed(env):
    warehouse = env.ref("stock.warehouse0")
    for name, cartona_id, internal in PRODUCTS:
        env["product.product"].create(
            {"name": name, "is_storable": True, "cartona_id": cartona_id, "cartona_internal_id": internal}
        )
    config = env["marketplace.config"].create(
        {
            "name": CONFIG_NAME,
            "api_base_url": "http://127.0.0.1:9/api/v1/",
            "auth_token": "upgrade-token",
            "warehouse_id": warehouse.id,
            "user_id": env.ref("base.user_admin").id,
            "responsible_id": env.ref("base.user_admin").id,
        }
    )
    stats, ack = config._processor()._process_page(json.loads(PAGE.read_text(encoding="utf-8")))
    sales = env["sale.order"].search([("marketplace_config_id", "=", config.id)])
    confirmed = sales.filtered(lambda s: s.state == "sale")[:1]
    # Jobs still queued when the upgrade happens, under the previous version's names.
    jobs = [
        env["marketplace.api"].with_delay()._acknowledge_orders(config.id, sorted(ack)),
        confirmed.with_delay()._push_marketplace_status("assigned_to_salesman"),
    ]
    if "marketplace.order.edit" in env:  # since 18.0.1.2.0
        jobs.append(env["marketplace.order.edit"].with_delay()._push_order_edits(config.id, confirmed.id))
    states = env["marketplace.sync.state"]
    states._of(config, "order_pull").write(
        {
            "last_pull_date": moment(30),
            "pull_next_page": 3,
            "pull_walk_started": moment(2),
            "pull_walk_from": moment(90),
            "total_orders_pulled": 41,
        }
    )
    states._of(config, "product_sync").last_reconciliation_date = moment(600)
    env["marketplace.sync.log"]._log_operation(config.id, "connection_test", "error", "Cartona refused the token (401)")
    hand_made = env["res.partner"].create({"name": "Shop entered by hand", "mobile": "+20 100 123 4567"})
    env.flush_all()
    env.invalidate_all()
    return {
        "config_id": config.id,
        "pull_state": {name: _plain(config[name]) for name in PULL_STATE},
        # Since 18.0.1.3.0 the version keeps it itself: the upgrade leaves it as it was.
        "import_orders_from": _plain(config["import_orders_from"]) if "import_orders_from" in config else None,
        "stats": dict(stats),
        "orders": {s.cartona_id: [s.name, s.state, s.marketplace_status, len(s.order_line)] for s in sales},
        "parked": sorted(env["marketplace.parked.order"].search([]).mapped("cartona_id")),
        "logs": env["marketplace.sync.log"].search_count([]),
        "jobs": {job.uuid: job.method_name for job in jobs},
        "hand_made_partner": hand_made.id,
    }


def _check_jobs(env, jobs, config, expect, problems):
    """The jobs queued before the upgrade still load, wait and run where this version queues them."""
    from odoo.addons.queue_job.job import Job

    for uuid in jobs:
        try:
            job = Job.load(env, uuid)
        except AttributeError as exc:
            problems.append(f"job {uuid} cannot run: {exc}")
            continue
        expect(f"job {uuid} channel", job.channel, "root.marketplace")
        expect(f"job {uuid} state", job.state, "pending")
        # Queued on the record it works for, as this version queues it.
        if job.method_name == "_acknowledge_orders":
            expect(f"job {uuid} record", (job.recordset._name, job.recordset.ids), ("marketplace.config", [config.id]))
        if job.method_name == "_push_order_edits":
            expect(f"job {uuid} record", job.recordset._name, "sale.order")


def check(env, snapshot):
    problems = []

    def expect(what, got, wanted):
        if got != wanted:
            problems.append(f"{what}: {got!r}, expected {wanted!r}")

    config = env["marketplace.config"].with_context(active_test=False).browse(snapshot["config_id"]).exists()
    if not config:
        return ["the configuration is gone"]
    for name, value in snapshot["pull_state"].items():
        expect(f"configuration {name}", _plain(config[name]), value)
    expect("connection status", config.connection_status, "error")
    if "import_orders_from" in snapshot and snapshot["import_orders_from"] is not None:
        expect("import orders from", _plain(config.import_orders_from), snapshot["import_orders_from"])
    # Already live: no order it could meet is held back by "Import Orders From".
    elif not config.import_orders_from or config.import_orders_from > config.create_date:
        problems.append(
            f"import orders from: {config.import_orders_from!r}, not before the configuration's creation "
            f"({config.create_date}): orders in flight would be dropped"
        )
    if "refused the token" not in (config.last_error or ""):
        problems.append(f"last error lost: {config.last_error!r}")
    if not config.responsible_id or config.responsible_id == env.ref("base.user_root"):
        problems.append(f"responsible user: {config.responsible_id.name!r}")
    partner = env["res.partner"].browse(snapshot["hand_made_partner"])
    expect("mobile key of a customer entered by hand", partner.cartona_mobile_key, "+201001234567")
    sales = env["sale.order"].search([("marketplace_config_id", "=", config.id)])
    if not all(sales.order_line.mapped("cartona_imported")):
        problems.append("lines imported before the upgrade are not marked as Cartona's")
    # What Cartona has of each line: else the first edit would send every line again.
    unknown = sales.order_line.filtered(
        lambda line: line.cartona_line_id and line.cartona_amount != line.product_uom_qty
    )
    if unknown:
        problems.append(f"lines without Cartona's amount after the upgrade: {unknown.ids}")
    expect(
        "imported orders",
        {s.cartona_id: [s.name, s.state, s.marketplace_status, len(s.order_line)] for s in sales},
        snapshot["orders"],
    )
    expect(
        "waiting orders", sorted(env["marketplace.parked.order"].search([]).mapped("cartona_id")), snapshot["parked"]
    )
    logs = env["marketplace.sync.log"].search_count([])
    if logs < snapshot["logs"]:
        problems.append(f"sync logs: {logs}, fewer than the {snapshot['logs']} before")
    _check_jobs(env, snapshot["jobs"], config, expect, problems)
    problems += check_publications(env, config)
    cleanup = env.ref("cartona_marketplace.cron_cleanup_sync_logs")
    try:
        cleanup.method_direct_trigger()
    except Exception as exc:  # any failure of the upgraded cron is a problem to report
        problems.append(f"the log clean-up cron fails: {exc!r}")
    admin = env.ref("base.user_admin")
    if not admin.has_group("cartona_marketplace.group_marketplace_manager"):
        problems.append("the administrator is not a marketplace manager")
    return problems


def check_publications(env, config):
    """The products the seed mapped queued publications of the previous version, jobs of their
    own: they are the configuration's pending rows now, sent by its drain job."""
    from odoo.addons.queue_job.job import Job

    problems = []
    old = env["queue.job"].search(
        [
            ("model_name", "=", "product.product"),
            ("method_name", "in", ["_marketplace_sync_job", "_marketplace_withdraw_job"]),
        ]
    )
    if not old:
        problems.append("no publication job of the previous version to move: the seed queues some")
    left = old.filtered(lambda job: job.state not in ("done", "cancelled"))
    if left:
        problems.append(f"publication jobs of the previous version left to run: {left.mapped('uuid')}")
    wanted = {pid for job in old - left if job.method_name == "_marketplace_sync_job" for pid in job.args[1]}
    rows = env["marketplace.publication"].search([("marketplace_config_id", "=", config.id)])
    if not wanted <= set(rows.product_id.ids):
        problems.append(
            f"products of moved publication jobs without a pending row: {wanted - set(rows.product_id.ids)}"
        )
    drain = env["queue.job"].search([("identity_key", "=", f"cartona-publish-{config.id}"), ("state", "=", "pending")])
    if rows and len(drain) != 1:
        problems.append(f"pending publications without one drain job waiting: {len(drain)} jobs")
    for job in drain:
        loaded = Job.load(env, job.uuid)
        if (loaded.channel, loaded.method_name) != ("root.marketplace", "_publish_pending"):
            problems.append(f"drain job {job.uuid}: {loaded.channel} {loaded.method_name}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["seed", "check"])
    parser.add_argument("--config", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--snapshot", required=True)
    parser.add_argument("--addons-path")
    args = parser.parse_args()
    options = ["-c", args.config, "-d", args.database, "--log-level=warn"]
    if args.addons_path:
        options.append(f"--addons-path={args.addons_path}")
    odoo.tools.config.parse_config(options)
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        if args.step == "seed":
            snapshot = seed(env)
            Path(args.snapshot).write_text(json.dumps(snapshot, indent=1))
            print(f"Seeded with the previous version: {len(snapshot['orders'])} orders, {snapshot['stats']}")
            return 0
        problems = check(env, json.loads(Path(args.snapshot).read_text()))
        cr.rollback()
    for problem in problems:
        print(f"UPGRADE PROBLEM: {problem}", file=sys.stderr)
    if not problems:
        print("The upgraded database kept every record and its pull state.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
