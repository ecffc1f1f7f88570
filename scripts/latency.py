#!/usr/bin/env python3
"""Latency of orders and pushes, from the Cartona sandbox's journal and Odoo's job queue.

- An order: made on Cartona (the sandbox's journal) → committed in Odoo. The
  commit is when the pull that imported it queued the order's acknowledgement,
  the last thing its transaction does before it commits.
- A push (a status, or a product's stock or price): committed in Odoo → Cartona
  has it. The commit is when the transaction queued the push job; Cartona has
  it when the sandbox's journal records the first item of that job's request.
  A product's job is its configuration's drain of pending publications, queued
  by the first change it sends: a change that joined a waiting drain is
  counted from the drain's queueing, so its latency is an upper bound.

    python scripts/latency.py --config .state/odoo.conf --database cartona \\
        --sandbox http://127.0.0.1:8070 --follow

``--follow`` prints each latency as it comes, and p50/p95 over the run when
stopped (Ctrl-C, SIGTERM); without it, the summary since ``--since`` (default:
everything) is printed once. Standard library and psycopg2 only.
"""

import argparse
import configparser
import json
import math
import signal
import sys
import time
import urllib.request
from datetime import datetime, timezone

import psycopg2

ACK_METHOD = "_acknowledge_orders"
# Push job method → the journal event its request leaves.
PUSH_METHODS = {
    "_push_marketplace_status": "status",
    "_publish_pending": "product",
}


def moment(text):
    return datetime.fromisoformat(str(text))


def percentile(values, share):
    """Nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summary(name, latencies):
    values = list(latencies.values())
    if not values:
        return f"{name}: none"
    return (
        f"{name}: {len(values)}, p50 {percentile(values, 0.5):.2f} s, "
        f"p95 {percentile(values, 0.95):.2f} s, max {max(values):.2f} s"
    )


def order_latencies(journal, acks):
    """``{hashed_id: seconds}`` from the order's making to its first
    acknowledgement queued; ``acks`` is ``[(queued at, [hashed_id, ...])]``."""
    made = {event["hashed_id"]: moment(event["at"]) for event in journal if event["kind"] == "order"}
    committed = {}
    for queued, hashed_ids in sorted(acks, key=lambda ack: ack[0]):
        for hashed_id in hashed_ids:
            committed.setdefault(hashed_id, queued)
    return {
        hashed_id: (committed[hashed_id] - at).total_seconds()
        for hashed_id, at in made.items()
        if hashed_id in committed
    }


def push_latencies(journal, jobs):
    """``{(job uuid, "status" or "product"): seconds}`` from a push job's
    queueing to the first journal event of its kind while it ran; ``jobs`` is
    ``[(uuid, method, queued, started, done)]`` of jobs done."""
    events = [(moment(event["at"]), event["kind"]) for event in journal]
    latencies = {}
    for uuid, method, queued, started, done in jobs:
        wanted = PUSH_METHODS[method]
        received = next((at for at, kind in events if kind == wanted and started <= at <= done), None)
        if received:
            latencies[(uuid, wanted)] = (received - queued).total_seconds()
    return latencies


def connect(config_path, database):
    parser = configparser.ConfigParser()
    parser.read(config_path)
    options = parser["options"]
    params = {"dbname": database}
    for key in ("host", "port", "user", "password"):
        value = options.get(f"db_{key}")
        if value and value != "False":
            params[key] = value
    connection = psycopg2.connect(**params)
    connection.autocommit = True
    return connection


def read_jobs(connection, since):
    """The acknowledgements and the pushes done, queued since ``since``."""
    with connection.cursor() as cr:
        cr.execute(
            "SELECT uuid, method_name, args, date_created, date_started, date_done FROM queue_job "
            "WHERE date_created >= %s AND method_name = ANY(%s)",
            [since, [ACK_METHOD, *PUSH_METHODS]],
        )
        rows = cr.fetchall()
    acks, pushes = [], []
    for uuid, method, args, created, started, done in rows:
        if method == ACK_METHOD:
            args = json.loads(args) if isinstance(args, str) else args
            acks.append((created, args[1]))
        elif done and started:
            pushes.append((uuid, method, created, started, done))
    return acks, pushes


def read_journal(sandbox_url, start=0):
    with urllib.request.urlopen(f"{sandbox_url.rstrip('/')}/sandbox/journal?since={start}", timeout=10) as answer:
        return json.loads(answer.read())


class Report:
    """The latencies of one run, measured again as the journal grows."""

    def __init__(self, connection, sandbox_url, since):
        self.connection = connection
        self.sandbox_url = sandbox_url
        self.since = since
        self.journal = []
        self.next = 0
        self.orders = {}
        self.pushes = {}

    def refresh(self):
        """Read what is new; return the latencies measured for the first time."""
        answer = read_journal(self.sandbox_url, self.next)
        self.next = answer["next"]
        self.journal += [event for event in answer["events"] if moment(event["at"]) >= self.since]
        acks, jobs = read_jobs(self.connection, self.since)
        orders, pushes = order_latencies(self.journal, acks), push_latencies(self.journal, jobs)
        new_orders = {key: value for key, value in orders.items() if key not in self.orders}
        new_pushes = {key: value for key, value in pushes.items() if key not in self.pushes}
        self.orders, self.pushes = orders, pushes
        return new_orders, new_pushes

    def summary(self):
        return [summary("Orders (Cartona -> Odoo)", self.orders), summary("Pushes (Odoo -> Cartona)", self.pushes)]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="Odoo configuration file")
    parser.add_argument("--database", required=True)
    parser.add_argument("--sandbox", default="http://127.0.0.1:8070", help="the sandbox's URL")
    parser.add_argument("--since", help="UTC moment to measure from (default: now with --follow, else everything)")
    parser.add_argument("--follow", action="store_true", help="print each latency as it comes, until stopped")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between two looks with --follow")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.since:
        since = moment(args.since)
    else:
        # Naive UTC, as Odoo stores dates.
        since = datetime.now(timezone.utc).replace(tzinfo=None) if args.follow else datetime(2000, 1, 1)
    report = Report(connect(args.config, args.database), args.sandbox, since)
    if not args.follow:
        report.refresh()
        print("\n".join(report.summary()))
        return 0
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_args: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_args: stopping.append(True))
    while not stopping:
        try:
            orders, pushes = report.refresh()
        except (OSError, psycopg2.Error) as exc:  # the sandbox or Odoo is starting or stopping
            print(f"latency: {exc}", file=sys.stderr)
        else:
            for hashed_id, seconds in orders.items():
                print(f"[latency] order {hashed_id} in Odoo {seconds:.2f} s after Cartona had it", flush=True)
            for (_uuid, kind), seconds in pushes.items():
                print(f"[latency] {kind} push on Cartona {seconds:.2f} s after its commit", flush=True)
        deadline = time.monotonic() + args.every
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
    print("\n".join(f"[latency] {line}" for line in report.summary()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
