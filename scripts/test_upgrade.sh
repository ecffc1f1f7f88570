#!/usr/bin/env bash
# A database made by the previous landed version upgrades with
# `-u cartona_marketplace` and keeps every record and its pull state.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The landed versions to upgrade from: the last one (7d10cd6, 18.0.1.3.0) and
# the last one of each schema before it (60534a9, 18.0.1.2.0; cd27a88,
# 18.0.1.1.0), whose data the migrations move. Add each version that lands;
# PREVIOUS_VERSION picks one.
PREVIOUS_VERSIONS=${PREVIOUS_VERSION:-cd27a88 60534a9 7d10cd6}
DB=${UPGRADE_DB:-cartona_upgrade}

bash "$ROOT/scripts/setup.sh"
odoo_addons=$(sed -n 's/^addons_path = \([^,]*\),.*/\1/p' "$(odoo_conf)")
base=$(template_db)
log=$STATE/upgrade.log

upgrade_from() {
    local PREVIOUS=$1 previous=$STATE/previous
    git -C "$ROOT" cat-file -e "$PREVIOUS^{commit}" 2>/dev/null \
        || die "the previous version $PREVIOUS is not in this clone's history (fetch it, or set PREVIOUS_VERSION)"
    rm -rf "$previous" && mkdir -p "$previous/$ADDON"
    git -C "$ROOT" archive "$PREVIOUS" | tar -x -C "$previous/$ADDON"
    psql_q -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)"
    psql_q -c "CREATE DATABASE \"$DB\" TEMPLATE \"$base\""
    : > "$log"
    say "Installing the previous version ($PREVIOUS) into $DB"
    odoo_bin --addons-path="$odoo_addons,$previous" -d "$DB" -i "$ADDON" --stop-after-init --no-http \
        --log-level=warn --logfile="$log" || die "the previous version did not install (see $log)"
    "$PY" "$ROOT/scripts/upgrade_check.py" seed --config "$(odoo_conf)" --addons-path="$odoo_addons,$previous" \
        --database "$DB" --snapshot "$STATE/upgrade-snapshot.json"

    sync_addon
    say "Upgrading $DB to this checkout's version"
    : > "$log"
    odoo_bin -d "$DB" -u "$ADDON" --stop-after-init --no-http --log-level=warn --logfile="$log" \
        || die "the upgrade failed (see $log)"
    if grep -E " (ERROR|CRITICAL) " "$log"; then
        die "the upgrade logged errors (see $log)"
    fi
    "$PY" "$ROOT/scripts/upgrade_check.py" check --config "$(odoo_conf)" --database "$DB" \
        --snapshot "$STATE/upgrade-snapshot.json" || die "the upgraded database lost something"
    say "Upgrade from $PREVIOUS: green"
}

for version in $PREVIOUS_VERSIONS; do
    upgrade_from "$version"
done
