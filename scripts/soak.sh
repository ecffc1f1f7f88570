#!/usr/bin/env bash
# Soak, not a test: Odoo as in production (prefork workers, the cron worker,
# the queue_job runner) against the Cartona sandbox injecting faults, users
# acting over XML-RPC, one HTTP worker and the job runner killed half-way.
# Loopback only, bounded in time and count; prints its figures and checks and
# exits non-zero when a check fails. A fresh database each run.
#   SOAK_SECONDS (150)  SOAK_MAX_ORDERS (150)  SOAK_FAULT_RATE (0.2)
#   SOAK_ORDER_EVERY (2)  SOAK_DRAIN_SECONDS (240)  SOAK_SEED
#   SOAK_DB (cartona_soak)  HTTP_PORT (8311, gevent on +1)  SANDBOX_PORT (8313)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB=${SOAK_DB:-cartona_soak}
HTTP_PORT=${HTTP_PORT:-8311}
SANDBOX_PORT=${SANDBOX_PORT:-8313}
SEED=${SOAK_SEED:-$RANDOM}
# A token no other text contains, so that the scan finds it wherever it leaked.
TOKEN=soak-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
RUN=$STATE/soak
SANDBOX_URL=http://127.0.0.1:$SANDBOX_PORT


for port in "$HTTP_PORT" "$((HTTP_PORT + 1))" "$SANDBOX_PORT"; do
    port_busy "$port" && die "port $port is in use: stop what listens there (or set HTTP_PORT / SANDBOX_PORT)"
done
set_up_fresh_db "$DB"
rm -rf "$RUN" && mkdir -p "$RUN"

stop_children_at_exit

say "Cartona sandbox on $SANDBOX_URL (seed $SEED, log $RUN/sandbox.log)"
"$PY" -u "$ROOT/scripts/cartona_sandbox.py" --port "$SANDBOX_PORT" --token "$TOKEN" --seed "$SEED" \
    --order-every "${SOAK_ORDER_EVERY:-2}" --fault-delay 5 --state-file "$RUN/sandbox.json" >"$RUN/sandbox.log" 2>&1 &
PIDS+=($!)
wait_for_url "$SANDBOX_URL/sandbox/state" || { tail -n 20 "$RUN/sandbox.log" >&2; die "the sandbox did not start"; }
"$PY" "$ROOT/scripts/demo_setup.py" --config "$(odoo_conf)" --database "$DB" \
    --url "$SANDBOX_URL/api/v1/" --token "$TOKEN" >&2
soak_args=(--config "$(odoo_conf)" --database "$DB" --token "$TOKEN")
"$PY" "$ROOT/scripts/soak.py" prepare "${soak_args[@]}"

say "Odoo in prefork mode on 127.0.0.1:$HTTP_PORT: 2 HTTP workers, 1 cron worker, the job runner (log $RUN/odoo.log)"
"$VENV/bin/odoo" -c "$(odoo_conf)" -d "$DB" --db-filter="^$DB\$" --http-interface=127.0.0.1 \
    --http-port="$HTTP_PORT" --gevent-port="$((HTTP_PORT + 1))" --workers=2 --max-cron-threads=1 \
    --log-level=info --logfile="$RUN/odoo.log" &
PIDS+=($!)
wait_for_url "http://127.0.0.1:$HTTP_PORT/web/login" || die "Odoo did not start (see $RUN/odoo.log)"

"$PY" "$ROOT/scripts/soak.py" run "${soak_args[@]}" --odoo-pid "${PIDS[-1]}" --odoo-log "$RUN/odoo.log" \
    --odoo-url "http://127.0.0.1:$HTTP_PORT" --sandbox-url "$SANDBOX_URL" --seed "$SEED" \
    --seconds "${SOAK_SECONDS:-150}" --max-orders "${SOAK_MAX_ORDERS:-150}" \
    --fault-rate "${SOAK_FAULT_RATE:-0.2}" --drain-seconds "${SOAK_DRAIN_SECONDS:-240}"
