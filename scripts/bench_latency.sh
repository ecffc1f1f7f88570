#!/usr/bin/env bash
# Benchmark, not a test: order latencies against the Cartona sandbox, with Odoo
# serving (job runner, crons, order poller), at the traffic a supplier really
# has, and what polling costs: requests per minute, rows added per hour. A fresh
# database each run (BENCH_DB, default cartona_bench_latency); ports HTTP_PORT
# and SANDBOX_PORT (those of `make run`). Arguments go to
# scripts/bench_latency.py (--case, --steady, --sparse, --rare, --idle).
# About 20 minutes, most of it waiting for orders that come seldom.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB=${BENCH_DB:-cartona_bench_latency}
TOKEN=bench-token
LOG=$STATE/bench-latency

set_up_fresh_db "$DB"
HTTP_PORT=${HTTP_PORT:-$(checkout_port 8069)}
SANDBOX_PORT=${SANDBOX_PORT:-$(checkout_port 8070)}
SANDBOX_URL=http://127.0.0.1:$SANDBOX_PORT
mkdir -p "$LOG"
rm -f "$LOG/sandbox.json"

stop_children_at_exit

say "Sandbox on $SANDBOX_URL (no orders of its own; log: $LOG/sandbox.log)"
"$PY" -u "$ROOT/scripts/cartona_sandbox.py" --port "$SANDBOX_PORT" --token "$TOKEN" --order-every 0 \
    --initial-orders 0 --seed 13 --state-file "$LOG/sandbox.json" >"$LOG/sandbox.log" 2>&1 &
PIDS+=($!)
wait_for_url "$SANDBOX_URL/sandbox/state" || die "the sandbox did not start"

ODOO_PID=
start_odoo() {
    "$VENV/bin/odoo" -c "$(odoo_conf)" -d "$DB" --db-filter="^$DB\$" --http-port "$HTTP_PORT" \
        --log-level=warn --logfile "$LOG/odoo.log" &
    ODOO_PID=$!
    PIDS+=("$ODOO_PID")
    wait_for_url "http://127.0.0.1:$HTTP_PORT/web/login" || die "Odoo did not start"
}

say "Odoo on port $HTTP_PORT with the job runner (log: $LOG/odoo.log)"
start_odoo
# The configuration is created while Odoo runs, as a supplier does.
"$PY" "$ROOT/scripts/demo_setup.py" --config "$(odoo_conf)" --database "$DB" \
    --url "$SANDBOX_URL/api/v1/" --token "$TOKEN" >&2

bench() {
    "$PY" "$ROOT/scripts/bench_latency.py" --config "$(odoo_conf)" --database "$DB" --sandbox "$SANDBOX_URL" "$@"
}
say "Benchmark on $DB ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
bench "$@"

say "Odoo restarts"
kill -TERM "$ODOO_PID"
wait "$ODOO_PID" 2>/dev/null || true
start_odoo
bench --case restart
say "Load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
