#!/usr/bin/env bash
# Odoo's own test suites of the apps the addon extends, run on a fresh
# database with the addon installed and loaded (see odoo_suites.py). Exits
# non-zero on any failed or erroring test, and when no test ran.
#   ODOO_SUITES=sale_stock,sale   the modules whose tests run
#   WITHOUT_ADDON=1               the baseline: the same database without the addon
#   KEEP_ALL=1                    also the tests left out below (they fail here)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB=${TEST_ODOO_DB:-${TEST_DB:-cartona_test}_odoo}
MODULES=${ODOO_SUITES:-sale_stock,sale,stock,account}
# Tests that fail the same way without the addon (WITHOUT_ADDON=1), because of
# how the project's databases are made, not because of the addon.
NOT_HERE=(
    # Tours that click through lots and serial numbers, or product variants:
    # Odoo's demo data gives the admin those groups; our databases have none.
    /stock:TestStockPickingTour.test_add_new_line
    /stock:TestStockPickingTour.test_detailed_op_no_save_1
    /stock:TestStockPickingTour.test_edit_existing_line
    /stock:TestStockPickingTour.test_edit_existing_lines_2
    /stock:TestStockPickingTour.test_generate_serial_1
    /stock:TestStockPickingTour.test_generate_serial_2
    /stock:TestStockPickingTour.test_onchange_serial_lot_ids
    /sale:TestProductAttributeValue.test_attribute_values_deletion_or_archiving
    # At-install tests that hold only until the apps after theirs are installed:
    # sale_stock computes the delivered quantities sale's test sets by hand, and
    # stock_account's move line write refuses what stock's test writes.
    /sale:TestSaleFlow.test_qty_delivered
    /stock:StockMoveLine.test_multi_edit_quant_and_lot
    # Accounting: a PDF report needs wkhtmltopdf, which these machines have
    # not; the three others fail identically on the project's database
    # without the addon (a payment wizard's message, a partial payment, a tour).
    /account:TestAccountEarlyPaymentDiscount.test_invoice_report_without_invoice_date
    /account:TestAccountMoveInInvoiceOnchanges.test_in_invoice_payment_register_wizard
    /account:TestAccountMoveReconcile.test_partial_payments_auto_validation
    /account:TestUi.test_01_account_tax_groups_tour
)
[ -z "${KEEP_ALL:-}" ] || NOT_HERE=()
tags="/${MODULES//,/,/}"
[ ${#NOT_HERE[@]} = 0 ] || tags+=$(printf ',-%s' "${NOT_HERE[@]}")
if [ -n "${WITHOUT_ADDON:-}" ]; then
    set_up_fresh_db "$DB" ""
    with="without $ADDON"
else
    set_up_fresh_db "$DB"
    with="with $ADDON installed"
fi

http_port=${TEST_HTTP_PORT:-$(checkout_port 8169)}
ensure_free "$http_port" TEST_HTTP_PORT
say "Running Odoo's own tests of $MODULES $with"
log=$STATE/test-odoo.log
start=$SECONDS
set +e
"$PY" "$ROOT/scripts/odoo_suites.py" -c "$(odoo_conf)" -d "$DB" --stop-after-init \
    --test-tags "$tags" --http-port="$http_port" --log-level=warn \
    --log-handler=odoo.service.server:INFO 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
minutes=$(( (SECONDS - start + 59) / 60 ))
summary=$(grep -o 'ODOO SUITES: .*' "$log" | tail -n 1)
[ -n "$summary" ] || die "no test report (exit code $rc)"
read -r run failed errors skipped < <(echo "$summary" | grep -oE '[0-9]+' | tr '\n' ' '; echo)
[ "$run" -gt 0 ] || die "no test ran"
[ "$rc" = 0 ] && [ "$failed" = 0 ] && [ "$errors" = 0 ] || die "Odoo's tests failed $with: $summary"
say "All green $with: Odoo's tests of $MODULES, $((run - skipped)) passed, $skipped skipped by Odoo itself, ${#NOT_HERE[@]} left out, in $minutes min"
