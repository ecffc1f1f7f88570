#!/usr/bin/env bash
# The whole test suite: set-up, a fresh database with the addon, pytest-odoo,
# then the linters. Exits non-zero on any failure, on no test run, and on a
# skipped test (a skip hides missing set-up).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB=${TEST_DB:-cartona_test}
set_up_fresh_db "$DB"
http_port=${TEST_HTTP_PORT:-$(checkout_port 8169)}
ensure_free "$http_port" TEST_HTTP_PORT

cd "$STATE/addons/$ADDON"
say "Running the test suite"
set +e
# No job runner in the tests' server: tests run their jobs themselves, and a
# job another test committed, run by it, would share a test's cursor mid-query.
ODOO_QUEUE_JOB_CHANNELS=root:0 "$VENV/bin/pytest" -p no:cacheprovider -rfEs --odoo-database="$DB" --odoo-config="$(odoo_conf)" \
    --odoo-log-level=warn --odoo-http --odoo-extra="http-port=$http_port" tests "$@" 2>&1 | tee "$STATE/pytest.log"
rc=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^=+ .*(passed|failed|error|no tests ran).* =+$' "$STATE/pytest.log" | tail -n 1)
[ "$rc" = 5 ] && die "pytest collected no test"
[ "$rc" = 0 ] || die "tests failed: $summary"
case "$summary" in
    *skipped*) die "tests were skipped ($summary): install what they need instead" ;;
    *passed*) ;;
    *) die "pytest reported no passed test" ;;
esac

bash "$ROOT/scripts/lint.sh"
say "All green: $summary"
