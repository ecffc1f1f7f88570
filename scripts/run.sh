#!/usr/bin/env bash
# The demo: Odoo with the addon on http://localhost:8069 (job runner on),
# connected to the Cartona sandbox (scripts/cartona_sandbox.py) on
# http://127.0.0.1:8070, which makes up orders and records what Odoo sends.
# (A second checkout's demo takes the ports 200 up: see checkout_port.)
# Ctrl-C stops both. A second run reuses the database and the sandbox's state.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB=${RUN_DB:-cartona}
SANDBOX_TOKEN=${SANDBOX_TOKEN:-sandbox-token}
SANDBOX_ORDER_EVERY=${SANDBOX_ORDER_EVERY:-20}
SANDBOX_FAIL_RATE=${SANDBOX_FAIL_RATE:-0}

bash "$ROOT/scripts/setup.sh"
sync_addon
HTTP_PORT=${HTTP_PORT:-$(checkout_port 8069)}
SANDBOX_PORT=${SANDBOX_PORT:-$(checkout_port 8070)}
SANDBOX_URL=http://127.0.0.1:$SANDBOX_PORT
ensure_free "$HTTP_PORT" HTTP_PORT
ensure_free "$SANDBOX_PORT" SANDBOX_PORT
if db_exists "$DB"; then
    say "Upgrading $ADDON in $DB"
    odoo_bin -d "$DB" -u "$ADDON" --stop-after-init --log-level=warn --no-http >&2
else
    fresh_db "$DB"
    rm -f "$STATE/sandbox-$DB.json"  # the sandbox's orders belonged to the database gone
fi

stop_children_at_exit

say "Starting the Cartona sandbox on $SANDBOX_URL (log: $STATE/sandbox.log)"
sandbox_args=(--port "$SANDBOX_PORT" --token "$SANDBOX_TOKEN" --order-every "$SANDBOX_ORDER_EVERY"
              --fail-rate "$SANDBOX_FAIL_RATE" --state-file "$STATE/sandbox-$DB.json")
[ -n "${SANDBOX_SEED:-}" ] && sandbox_args+=(--seed "$SANDBOX_SEED")
"$PY" -u "$ROOT/scripts/cartona_sandbox.py" "${sandbox_args[@]}" >>"$STATE/sandbox.log" 2>&1 &
PIDS+=($!)
wait_for_url "$SANDBOX_URL/sandbox/state" || { tail -n 20 "$STATE/sandbox.log" >&2; die "the sandbox did not start"; }

say "Pointing the marketplace \"Cartona sandbox\" at it and creating its products"
"$PY" "$ROOT/scripts/demo_setup.py" --config "$(odoo_conf)" --database "$DB" \
    --url "$SANDBOX_URL/api/v1/" --token "$SANDBOX_TOKEN" >&2

cat >&2 <<BANNER

  Odoo              http://localhost:$HTTP_PORT   (database $DB, log in as admin / admin)
                    Marketplace > Orders, Waiting Orders, Sync Logs
  Cartona sandbox   $SANDBOX_URL/api/v1/   (token $SANDBOX_TOKEN, a new order every ${SANDBOX_ORDER_EVERY}s)
  What it received  $SANDBOX_URL/sandbox/state
  Sandbox log       $STATE/sandbox.log

  Orders are polled every 3 s while they come, every 4 s when Cartona is
  idle; acknowledgements, statuses and stock go out within seconds
  through the job runner. Lines "[latency]" give each order's and each push's
  latency, read from the sandbox's journal; p50 and p95 over the run when
  Ctrl-C stops Odoo and the sandbox.

BANNER

# Stopped after Odoo: it prints the run's p50 and p95 when stopped.
"$PY" -u "$ROOT/scripts/latency.py" --config "$(odoo_conf)" --database "$DB" --sandbox "$SANDBOX_URL" --follow &
PIDS+=($!)
"$VENV/bin/odoo" -c "$(odoo_conf)" -d "$DB" --db-filter="^$DB\$" --http-interface=0.0.0.0 --http-port="$HTTP_PORT" &
PIDS+=($!)
wait "$!"
