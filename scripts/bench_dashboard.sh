#!/usr/bin/env bash
# Benchmark, not a test: the Marketplace dashboard read over a few million sync
# logs made by PostgreSQL. Prints the machine and median wall times. A fresh
# database each run (BENCH_DB, default cartona_bench_dashboard); arguments go
# to scripts/bench_dashboard.py (--logs N, --runs N).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB=${BENCH_DB:-cartona_bench_dashboard}
set_up_fresh_db "$DB"
say "Dashboard benchmark on $DB"
"$PY" "$ROOT/scripts/bench_dashboard.py" --config "$(odoo_conf)" --database "$DB" "$@"
