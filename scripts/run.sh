#!/usr/bin/env bash
# Odoo with the addon, serving on http://localhost:8069 with the job runner.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB=${RUN_DB:-cartona}
bash "$ROOT/scripts/setup.sh"
sync_addon
if db_exists "$DB"; then
    odoo_bin -d "$DB" -u "$ADDON" --stop-after-init --log-level=warn --no-http >&2
else
    fresh_db "$DB"
fi
say "Odoo on http://localhost:${HTTP_PORT:-8069} (database $DB) — log in as admin / admin"
exec "$VENV/bin/odoo" -c "$(odoo_conf)" -d "$DB" --db-filter="^$DB\$" --http-interface=0.0.0.0
