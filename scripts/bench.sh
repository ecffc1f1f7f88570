#!/usr/bin/env bash
# Benchmarks, not tests: printed figures, never timed assertions. A fresh
# database each run (BENCH_DB, default cartona_bench).
#   - the order import against plain ORM create + action_confirm, order by
#     order and batched (one create, one action_confirm per page), for each
#     BENCH_SHAPES "orders x lines" (default 100x5,25x40; e.g. BENCH_SHAPES=50x5
#     for a quick run), pulled from the sandbox on 127.0.0.1, BENCH_RUNS times
#     (default 5; the ratios' median is printed), then a cProfile of one page
#     of 100 orders;
#   - one inventory of BENCH_PRODUCTS products (default 10,000) published to a
#     local stand-in: jobs queued, requests sent and wall times.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB=${BENCH_DB:-cartona_bench}
set_up_fresh_db "$DB"
say "Import benchmark on $DB"
"$PY" "$ROOT/scripts/bench_import.py" --config "$(odoo_conf)" --database "$DB" --shapes "${BENCH_SHAPES:-100x5,25x40}" \
    --runs "${BENCH_RUNS:-5}" --profile
# A database of its own: the import's configuration would get the stock jobs too.
fresh_db "$DB"
say "Stock benchmark on $DB"
"$PY" "$ROOT/scripts/bench_stock.py" --config "$(odoo_conf)" --database "$DB" --products "${BENCH_PRODUCTS:-10000}"
