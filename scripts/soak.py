"""The soak of ``make soak`` (scripts/soak.sh starts the processes).

``prepare``: before Odoo starts, the soak's users and settings in the database.
``run``: against Odoo in prefork mode (workers, cron worker, queue_job
runner) and the Cartona sandbox with faults: users confirm, send out, deliver
and cancel orders over XML-RPC while the sandbox makes and moves orders; one
HTTP worker and the job runner are killed (``kill -9``) half-way. Then faults
off, the clock stopped, the queue drained, and the checks printed. Exits 1 when
a check fails.

Loopback only. Reads the database through the ORM for the checks and to wake
the crons, as a person would press "Run manually".
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
import xmlrpc.client
from collections import Counter
from pathlib import Path

import odoo
from odoo import SUPERUSER_ID, api

PASSWORD = "soak-password"
USERS = {
    "soak_sales": (
        "Soak Salesperson",
        ["sales_team.group_sale_salesman_all_leads", "cartona_marketplace.group_marketplace_user"],
    ),
    "soak_stock": ("Soak Warehouse", ["stock.group_stock_user"]),
}
# Short retry delays so that the soak drains in minutes; Cartona's
# Retry-After, when given, still wins. A supplier tunes the same records.
RETRY_PATTERN = {1: 5, 2: 10, 3: 20, 4: 40}
RETRY_ATTEMPTS = 5
REQUEST_TIMEOUT = 3
# The queue_job runner never requeues a job whose worker died (its README's
# caveat): its garbage collector does, once told how old a started job may be.
GC_CODE = "model.requeue_stuck_jobs(enqueued_delta=1, started_delta=1)"
RUNNER_LOCK = 2293787760715711918  # queue_job.jobrunner.runner.PG_ADVISORY_LOCK_ID
UNMAPPED = ("550123", "3307#1")  # the product demo_setup leaves unmapped
CRONS = (
    "cartona_marketplace.cron_pull_marketplace_orders",
    "cartona_marketplace.cron_sync_product_data",
    "queue_job.ir_cron_queue_job_garbage_collector",
)
CANCELLED = ("cancelled", "cancelled_by_retailer", "cancelled_by_supplier")


def say(message):
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("prepare", "run"))
    parser.add_argument("--config", required=True, help="Odoo configuration file")
    parser.add_argument("--database", required=True)
    parser.add_argument("--odoo-url", default="http://127.0.0.1:8311")
    parser.add_argument("--sandbox-url", default="http://127.0.0.1:8313")
    parser.add_argument("--token", required=True)
    parser.add_argument("--odoo-pid", type=int, help="the prefork server's main process")
    parser.add_argument("--odoo-log", help="Odoo's log file, scanned for the token")
    parser.add_argument("--seconds", type=float, default=150, help="how long users and faults go on")
    parser.add_argument("--max-orders", type=int, default=150, help="the sandbox makes no more orders past this")
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--drain-seconds", type=float, default=240, help="bound of the wait for the queue to drain")
    parser.add_argument("--user-every", type=float, default=1.0, help="seconds between two user actions")
    parser.add_argument("--seed", type=int, default=None)
    return parser.parse_args()


def environment(args):
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    return odoo.modules.registry.Registry(args.database)


class Orm:
    """Short transactions as the superuser, for set-up, cron triggers and checks."""

    def __init__(self, registry):
        self.registry = registry

    def __call__(self, func):
        with self.registry.cursor() as cr:
            result = func(api.Environment(cr, SUPERUSER_ID, {}))
            cr.commit()
            return result


# prepare ---------------------------------------------------------------------


def prepare(args):
    def setup(env):
        config = env["marketplace.config"].search([("name", "=", "Cartona sandbox")], limit=1)
        config.write({"timeout": REQUEST_TIMEOUT, "retry_attempts": RETRY_ATTEMPTS})
        functions = env["queue.job.function"].search([("channel_id.complete_name", "=", "root.marketplace")])
        functions.write({"retry_pattern": RETRY_PATTERN})
        env.ref("queue_job.ir_cron_queue_job_garbage_collector").write(
            {"code": GC_CODE, "interval_number": 1, "interval_type": "minutes", "active": True}
        )
        for login, (name, groups) in USERS.items():
            user = env["res.users"].search([("login", "=", login)])
            vals = {"groups_id": [odoo.Command.link(env.ref(group).id) for group in groups], "password": PASSWORD}
            if user:
                user.write(vals)
            else:
                env["res.users"].create(dict(vals, name=name, login=login))
        return config.id, len(functions)

    config_id, functions = Orm(environment(args))(setup)
    say(f"prepared: config {config_id}, {functions} job functions, users {', '.join(USERS)}")


# the servers -----------------------------------------------------------------


def http_json(url, body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


class Rpc:
    def __init__(self, url, db, login, password):
        self.db, self.password = db, password
        common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common", allow_none=True)
        self.uid = common.authenticate(db, login, password, {})
        if not self.uid:
            raise SystemExit(f"cannot log in as {login}")
        self.models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)

    def __call__(self, model, method, *args, **kwargs):
        return self.models.execute_kw(self.db, self.uid, self.password, model, method, list(args), kwargs)


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(line.split(None, 1)[0]): line.split(None, 1)[1] for line in out.splitlines() if line.strip()}


def workers(orm, master, database):
    """The prefork server's processes by role: Odoo names its database
    connections ``odoo-<pid>``; the runner holds queue_job's advisory lock and
    the cron worker listens to ``cron_trigger``."""

    def query(env):
        env.cr.execute(
            """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND a.datname = %s
                  AND ((l.classid::bigint << 32) | l.objid::bigint) = %s""",
            [database, RUNNER_LOCK],
        )
        runner = {row[0] for row in env.cr.fetchall()}
        env.cr.execute("SELECT application_name FROM pg_stat_activity WHERE query = 'LISTEN cron_trigger'")
        cron = {row[0] for row in env.cr.fetchall()}
        return runner, cron

    runner, cron = orm(query)
    roles = {"http": [], "runner": [], "cron": [], "other": []}
    for pid, command in children(master).items():
        name = f"odoo-{pid}"
        if name in runner:
            roles["runner"].append(pid)
        elif name in cron:
            roles["cron"].append(pid)
        elif "gevent" in command.split():  # the long-polling process, not a worker
            roles["other"].append(pid)
        else:
            roles["http"].append(pid)
    return roles


def jobs_by_state(env, domain=()):
    return dict(env["queue.job"]._read_group(list(domain), ["state"], ["__count"]))


# users -------------------------------------------------------------------------


class Users:
    def __init__(self, args, rng):
        self.sales = Rpc(args.odoo_url, args.database, "soak_sales", PASSWORD)
        self.stock = Rpc(args.odoo_url, args.database, "soak_stock", PASSWORD)
        self.sandbox = args.sandbox_url
        self.rng = rng
        self.done = Counter()
        self.refused = Counter()

    def act(self):
        action = self.rng.choices(
            ("confirm", "out_for_delivery", "deliver", "cancel", "resolve"), weights=(40, 10, 35, 10, 5)
        )[0]
        try:
            if getattr(self, action)():
                self.done[action] += 1
        except (xmlrpc.client.Fault, OSError) as exc:
            text = exc.faultString if isinstance(exc, xmlrpc.client.Fault) else repr(exc)
            self.refused[(action, text.strip().splitlines()[-1][:100])] += 1

    def _pick(self, rpc, model, domain):
        ids = rpc(model, "search", domain, limit=20, order="id desc")
        return self.rng.choice(ids) if ids else None

    def confirm(self):
        order = self._pick(self.sales, "sale.order", [("is_marketplace_order", "=", True), ("state", "=", "draft")])
        return order and self.sales("sale.order", "action_confirm", [order]) is not None

    def out_for_delivery(self):
        domain = [("is_marketplace_order", "=", True), ("state", "=", "sale"), ("marketplace_status", "=", "approved")]
        order = self._pick(self.sales, "sale.order", domain)
        return order and self.sales("sale.order", "action_out_for_delivery", [order]) is not None

    def _otp(self, hashed_id):
        """What the retailer tells the driver at the door."""
        orders = http_json(f"{self.sandbox}/sandbox/state")["orders"]
        return next(order["otp"] for order in orders if order["hashed_id"] == hashed_id)

    def deliver(self):
        domain = [
            ("sale_id.is_marketplace_order", "=", True),
            ("picking_type_code", "=", "outgoing"),
            ("state", "=", "assigned"),
        ]
        picking = self._pick(self.stock, "stock.picking", domain)
        if not picking:
            return False
        fields = ["cartona_id", "cartona_otp_required", "retailer_otp"]
        order = self.sales("sale.order", "search_read", [("picking_ids", "in", [picking])], fields=fields)[0]
        if order["cartona_otp_required"] and not order["retailer_otp"]:
            # Now and then the driver mistypes it: Cartona refuses, a person corrects it ("resolve").
            otp = "0000" if self.rng.random() < 0.25 else self._otp(order["cartona_id"])
            self.sales("sale.order", "write", [order["id"]], {"retailer_otp": otp})
        context = {"skip_backorder": True, "skip_sms": True}
        return self.stock("stock.picking", "button_validate", [picking], context=context) is not None

    def resolve(self):
        """A person handles an order whose status Cartona refused: the right
        OTP, then "Sync to Cartona"."""
        domain = [("is_marketplace_order", "=", True), ("marketplace_sync_status", "=", "error")]
        order = self._pick(self.sales, "sale.order", domain)
        if not order:
            return False
        data = self.sales("sale.order", "read", [order], ["cartona_id", "cartona_otp_required"])[0]
        if data["cartona_otp_required"]:
            self.sales("sale.order", "write", [order], {"retailer_otp": self._otp(data["cartona_id"])})
        return self.sales("sale.order", "action_marketplace_sync_now", [order]) is not None

    def cancel(self):
        domain = [
            ("is_marketplace_order", "=", True),
            ("state", "in", ("draft", "sale")),
            ("delivery_status", "!=", "full"),
        ]
        order = self._pick(self.sales, "sale.order", domain)
        if not order:
            return False
        reason = self.rng.choice(("out_of_stock", "cannot_deliver_the_order", "delayed_order"))
        self.sales("sale.order", "write", [order], {"cartona_cancellation_reason": reason})
        return self.sales("sale.order", "action_cancel", [order], context={"disable_cancel_warning": True}) is not None


# the run -----------------------------------------------------------------------


def kill_worker_and_runner(orm, args, rng):
    """kill -9 one HTTP worker and the job runner's worker; the prefork server
    spawns new ones. Returns what happened, for the report."""
    before = workers(orm, args.odoo_pid, args.database)
    started = orm(jobs_by_state).get("started", 0)
    victim = rng.choice(before["http"])
    os.kill(victim, signal.SIGKILL)
    say(f"kill -9 HTTP worker {victim} ({started} job(s) running at that moment)")
    runner = before["runner"][0] if before["runner"] else None
    if runner:
        os.kill(runner, signal.SIGKILL)
        say(f"kill -9 job runner {runner}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(2)
        after = workers(orm, args.odoo_pid, args.database)
        if after["runner"] and runner not in after["runner"] and len(after["http"]) >= len(before["http"]):
            say(f"respawned: HTTP workers {after['http']}, job runner {after['runner']}")
            return {
                "http_killed": victim,
                "runner_killed": runner,
                "runner_new": after["runner"][0],
                "jobs_running": started,
            }
    raise SystemExit("the prefork server did not spawn a new job runner within 60s")


def trigger_crons(env):
    for xmlid in CRONS:
        env.ref(xmlid)._trigger()


def soak(args):
    rng = random.Random(args.seed)
    orm = Orm(environment(args))
    sandbox = args.sandbox_url
    crons_before = orm(lambda env: {xmlid: env.ref(xmlid).active for xmlid in CRONS})
    users = Users(args, rng)
    admin = Rpc(args.odoo_url, args.database, "admin", "admin")
    http_json(f"{sandbox}/sandbox/control", {"fault_rate": args.fault_rate, "ticking": True})
    say(f"faults on ({args.fault_rate:.0%} of requests), users acting for {args.seconds:.0f}s")
    start = time.monotonic()
    killed = mapped = None
    ticking = True
    while time.monotonic() - start < args.seconds:
        users.act()
        elapsed = time.monotonic() - start
        if not killed and elapsed > args.seconds / 2:
            killed = kill_worker_and_runner(orm, args, rng)
        if not mapped and elapsed > args.seconds / 3:
            # A person maps the product whose orders wait: they are released.
            product = admin("product.product", "search", [("default_code", "=", f"CRT-{UNMAPPED[0]}")])
            admin("product.product", "write", product, {"cartona_id": UNMAPPED[0], "cartona_internal_id": UNMAPPED[1]})
            mapped = True
            say(f"product {UNMAPPED[0]} mapped: its waiting orders are released at the next pull")
        if ticking and http_json(f"{sandbox}/sandbox/state")["summary"]["orders"] >= args.max_orders:
            http_json(f"{sandbox}/sandbox/control", {"ticking": False})
            ticking = False
            say(f"{args.max_orders} orders made: the sandbox's clock stops")
        time.sleep(args.user_every)
    say("faults off, the sandbox's clock stopped: draining")
    http_json(f"{sandbox}/sandbox/control", {"fault_rate": 0, "ticking": False})
    drain_start = time.monotonic()
    while True:
        # Faults off, a person still handles what the connector handed them.
        while users.resolve():
            users.done["resolve"] += 1
        orm(trigger_crons)
        time.sleep(10)
        checks = run_checks(orm, args, crons_before)
        if all(ok for _name, ok, _detail in checks) or time.monotonic() - drain_start > args.drain_seconds:
            break
    drained = time.monotonic() - drain_start
    report(args, orm, users, killed, checks, time.monotonic() - start, drained)
    return 0 if all(ok for _name, ok, _detail in checks) else 1


# checks ------------------------------------------------------------------------


def run_checks(orm, args, crons_before):
    state = http_json(f"{args.sandbox_url}/sandbox/state")
    cartona = {order["hashed_id"]: order for order in state["orders"]}
    return orm(lambda env: checks(env, args, state, cartona, crons_before))


def checks(env, args, state, cartona, crons_before):
    config = env["marketplace.config"].search([("name", "=", "Cartona sandbox")], limit=1)
    sales = env["sale.order"].search([("marketplace_config_id", "=", config.id)])
    by_id = Counter(sales.mapped("cartona_id"))
    result = []

    def check(name, bad, detail=""):
        result.append((name, not bad, detail if bad else ""))

    missing = sorted(set(cartona) - set(by_id))
    check(
        "one sale order per Cartona order, none lost",
        missing or any(n != 1 for n in by_id.values()),
        f"missing {missing[:10]} ({len(missing)}), duplicated {[k for k, n in by_id.items() if n != 1]}",
    )
    check("no sale order Odoo made up", set(by_id) - set(cartona), f"{sorted(set(by_id) - set(cartona))[:10]}")
    parked = env["marketplace.parked.order"].search_count([])
    check("no order left waiting", parked, f"{parked} waiting")
    unacked = [h for h, o in cartona.items() if not o["acknowledged"]]
    check("every order acknowledged", unacked, f"{unacked[:10]} ({len(unacked)})")
    status_mismatch, state_mismatch = [], []
    for sale in sales:
        order = cartona.get(sale.cartona_id)
        if not order:
            continue
        if sale.marketplace_status != order["status"]:
            status_mismatch.append(f"{sale.cartona_id}: Odoo {sale.marketplace_status}, Cartona {order['status']}")
        cancelled, delivered = order["status"] in CANCELLED, order["status"] == "delivered"
        by_supplier = sale.delivered_by != "delivered_by_cartona"  # Cartona's own deliveries are not pushed
        if (
            (sale.state == "cancel") != cancelled
            or (sale._marketplace_all_delivered() != delivered and (by_supplier or delivered))
            or (sale.state == "sale" and by_supplier and order["status"] == "pending")
        ):
            if not sale.activity_ids:  # what the connector hands to a person is not a mismatch
                state_mismatch.append(
                    f"{sale.cartona_id}: {sale.state}/{sale.delivery_status}, Cartona {order['status']}"
                )
    in_error = sales.filtered(lambda sale: sale.marketplace_sync_status == "error")
    check(
        "no order left in sync error",
        in_error,
        "; ".join(f"{s.name}: {s.marketplace_error_message}" for s in in_error[:5]),
    )
    check("what Odoo knows of every order's Cartona status is right", status_mismatch, "; ".join(status_mismatch[:8]))
    check("every final status the same in Odoo and on Cartona", state_mismatch, "; ".join(state_mismatch[:8]))
    products = env["product.product"].search([("cartona_id", "!=", False), ("marketplace_sync_enabled", "=", True)])
    figures = products._marketplace_figures(config)
    stock_mismatch = []
    for product in products:
        published = state["published_products"].get(product.cartona_id, {}).get("available_stock_quantity")
        if published != figures[product.id][1]:
            stock_mismatch.append(f"{product.cartona_id}: published {published}, free {figures[product.id][1]}")
    check("published stock of every product = its free quantity", stock_mismatch, "; ".join(stock_mismatch))
    in_error = products.filtered(lambda product: product.marketplace_sync_status == "error")
    check("no product left in sync error", in_error, ", ".join(in_error.mapped("cartona_id")))
    # The order poller's job always waits for its next poll: the queue is the rest.
    jobs = jobs_by_state(env, [("channel", "!=", "root.marketplace_poll")])
    busy = {s: n for s, n in jobs.items() if s not in ("done", "failed", "cancelled")}
    check("queue drained", busy, f"{busy}")
    failed = env["queue.job"].search([("state", "=", "failed")])
    fixable = failed.filtered(lambda job: "MarketplacePermanentError" not in (job.exc_name or ""))
    check(
        "no failed job a retry would fix",
        fixable,
        "; ".join(f"{j.name}: {j.exc_name}: {(j.exc_message or '')[:80]}" for j in fixable[:5]),
    )
    crons_now = {xmlid: env.ref(xmlid).active for xmlid in crons_before}
    check("no cron deactivated", crons_now != crons_before or not all(crons_now.values()), f"{crons_now}")
    leaks = token_leaks(env, args)
    check("the token in no log line, sync log, job or error text", leaks, ", ".join(leaks))
    return result


TOKEN_TABLES = {
    "marketplace_sync_log": "t::text",
    "queue_job": "t::text",
    "sale_order": "coalesce(t.marketplace_error_message, '')",
    "product_product": "coalesce(t.marketplace_error_message, '')",
    "mail_message": "coalesce(t.body::text, '')",
    "mail_activity": "coalesce(t.note::text, '')",
    "ir_logging": "t::text",
}


def token_leaks(env, args):
    leaks = []
    for table, text in TOKEN_TABLES.items():
        env.cr.execute(f"SELECT count(*) FROM {table} t WHERE strpos({text}, %s) > 0", [args.token])
        count = env.cr.fetchone()[0]
        if count:
            leaks.append(f"{count} row(s) of {table}")
    if args.odoo_log and args.token in Path(args.odoo_log).read_text(errors="replace"):
        leaks.append(f"the Odoo log {args.odoo_log}")
    return leaks


def report(args, orm, users, killed, checks, elapsed, drained):
    state = http_json(f"{args.sandbox_url}/sandbox/state")
    summary = state["summary"]

    def figures(env):
        jobs = env["queue.job"].search([])
        sales = env["sale.order"].search([("is_marketplace_order", "=", True)])
        logs = dict(env["marketplace.sync.log"]._read_group([], ["status"], ["__count"]))
        return {
            "jobs": dict(Counter(jobs.mapped("state"))),
            "job_retries": sum(jobs.mapped("retry")),
            "jobs_by_method": dict(Counter(jobs.mapped("method_name"))),
            "sale_states": dict(Counter(sales.mapped("state"))),
            "sync_logs": logs,
            "failed_jobs": [
                f"{j.name}: {(j.exc_message or '')[:100]}" for j in jobs.filtered(lambda j: j.state == "failed")
            ],
        }

    data = orm(figures)
    errors = Counter()
    if args.odoo_log:
        for line in Path(args.odoo_log).read_text(errors="replace").splitlines():
            parts = line.split(" ", 5)
            if len(parts) > 5 and parts[3] in ("ERROR", "CRITICAL"):
                errors[parts[5][:110]] += 1
    log_text = Path(args.odoo_log).read_text(errors="replace") if args.odoo_log else ""
    pull_runs = sum(
        1 for line in log_text.splitlines() if "Pull Marketplace Orders" in line and line.endswith("starting ")
    )
    pull_failed = sum(1 for line in log_text.splitlines() if "Pull Marketplace Orders" in line and " failed" in line)
    statuses = Counter(order["status"] for order in state["orders"])
    print()
    print("=" * 78)
    print(f"Soak: {elapsed:.0f}s in all, {args.seconds:.0f}s with faults, drained in {drained:.0f}s")
    print(f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}")
    print(
        f"Cartona: {summary['orders']} orders ({dict(statuses)}), {summary['requests']} API requests, "
        f"{summary['acknowledgements']} acknowledgements, {summary['status_updates']} status updates from Odoo"
    )
    print(f"Faults injected: {sum(summary['faults'].values())} {summary['faults']}")
    print(f"Users over XML-RPC: {dict(users.done)} done; {sum(users.refused.values())} refused")
    for (action, text), count in users.refused.most_common(6):
        print(f"    {count:4} x {action}: {text}")
    if killed:
        print(
            f"Killed: HTTP worker {killed['http_killed']} ({killed['jobs_running']} job(s) running), "
            f"job runner {killed['runner_killed']} -> respawned as {killed['runner_new']}"
        )
    print(
        f"Odoo: sale orders {data['sale_states']}, jobs {data['jobs']} with {data['job_retries']} retries, "
        f"by method {data['jobs_by_method']}"
    )
    print(f"Sync logs by status: {data['sync_logs']}")
    print(f"Pull cron: {pull_runs} runs, {pull_failed} rolled back by a concurrent update (PostgreSQL) and run again")
    for line in data["failed_jobs"][:8]:
        print(f"    failed job (Cartona refused, a retry cannot help): {line}")
    print(f"Odoo log: {sum(errors.values())} ERROR lines")
    for text, count in errors.most_common(6):
        print(f"    {count:4} x {text}")
    print("-" * 78)
    for name, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"\n      {detail}" if detail else ""))
    print("=" * 78)


def main():
    args = parse_args()
    if args.command == "prepare":
        prepare(args)
        return 0
    return soak(args)


if __name__ == "__main__":
    sys.exit(main())
