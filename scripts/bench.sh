#!/usr/bin/env bash
# Benchmark, not a test: one inventory of 10,000 products on Cartona, applied
# in one transaction, against a local stand-in. Prints jobs queued, requests
# sent and wall times. A fresh database each run (BENCH_DB, default cartona_bench).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB=${BENCH_DB:-cartona_bench}
set_up_fresh_db "$DB"
say "Benchmark on $DB"
"$PY" "$ROOT/scripts/bench_stock.py" --config "$(odoo_conf)" --database "$DB" "$@"
