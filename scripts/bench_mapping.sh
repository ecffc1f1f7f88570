#!/usr/bin/env bash
# Benchmark, not a test: the catalogue mapping assistant on a catalogue of
# 5,000 products against 7,000 Odoo products, read, matched and shown. Prints
# wall times, the proposals' methods, their precision and recall, and the machine.
# A fresh database each run (BENCH_DB, default cartona_bench).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB=${BENCH_DB:-cartona_bench}
set_up_fresh_db "$DB"
say "Catalogue mapping benchmark on $DB"
"$PY" "$ROOT/scripts/bench_mapping.py" --config "$(odoo_conf)" --database "$DB" "$@"
