# Shared settings and helpers for the project's scripts. Sourced, never run.
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ADDON=cartona_marketplace
VENV=${VENV:-$ROOT/.venv}
STATE=${STATE:-$ROOT/.state}
ODOO_SRC=${ODOO_SRC:-/opt/odoo-18.0}
ODOO_GIT_URL=${ODOO_GIT_URL:-https://github.com/odoo/odoo.git}
PG_PORT=${PG_PORT:-54329}
PG_OS_USER=${PG_OS_USER:-cartona-pg}
DB_USER=odoo
PY=$VENV/bin/python

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
    echo "$d"
}

# The cluster's home: under .state/ when the PostgreSQL user can reach it,
# else a directory that user owns (a checkout in a private home is unreachable).
pg_home() {
    if [ -f "$STATE/pg_home" ]; then cat "$STATE/pg_home"; return; fi
    echo "$STATE/pg"
}

odoo_conf() { echo "$STATE/odoo.conf"; }

# Run Odoo's command line with the project's configuration.
odoo_bin() { "$VENV/bin/odoo" -c "$(odoo_conf)" "$@"; }

psql_q() { "$(pg_bindir)/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d postgres -tAq "$@"; }

# The addon is mounted under its technical name in an addons path. A copy,
# not a symlink: pytest resolves symlinks and would name the module after
# the checkout's folder.
sync_addon() {
    mkdir -p "$STATE/addons/$ADDON"
    rsync -a --delete --exclude .git --exclude .venv --exclude .state \
        --exclude __pycache__ --exclude .pytest_cache --exclude .ruff_cache \
        "$ROOT/" "$STATE/addons/$ADDON/"
}

db_exists() { [ "$(psql_q -c "SELECT 1 FROM pg_database WHERE datname = '$1'")" = 1 ]; }

# A database with Odoo and the addon's dependencies, built once per Odoo tree
# and dependency set, then copied for each fresh database.
template_db() {
    local key name
    key=$( { "$PY" -c "import odoo, odoo.release as r; print(odoo.__file__, r.serie)"; \
             "$PY" -m pip freeze 2>/dev/null | grep -i queue; \
             grep -o '"depends": \[[^]]*\]' "$ROOT/__manifest__.py"; } | sha1sum | cut -c1-10)
    name=cartona_base_$key
    if ! db_exists "$name"; then
        say "Building the base database $name (Odoo + sale_management, sale_stock, queue_job)"
        odoo_bin -d "$name" -i sale_management,sale_stock,queue_job --stop-after-init \
            --log-level=warn --no-http >&2 || die "Odoo could not build the base database"
    fi
    echo "$name"
}

# fresh_db NAME [MODULES]: a new database with MODULES installed (by default
# the addon; none when empty).
fresh_db() {
    local name=$1 modules=${2-$ADDON} base
    base=$(template_db)
    psql_q -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)"
    psql_q -c "CREATE DATABASE \"$name\" TEMPLATE \"$base\""
    rm -rf "$STATE/data/filestore/$name"
    [ -d "$STATE/data/filestore/$base" ] && mkdir -p "$STATE/data/filestore" && cp -a "$STATE/data/filestore/$base" "$STATE/data/filestore/$name"
    [ -n "$modules" ] || return 0
    say "Installing $modules into $name"
    odoo_bin -d "$name" -i "$modules" --stop-after-init --log-level=warn --no-http >&2 \
        || die "$modules did not install into $name"
}

# set_up_fresh_db NAME [MODULES]: everything installed and running, and NAME
# a new database with the addon as it is in the checkout (see fresh_db).
set_up_fresh_db() {
    bash "$ROOT/scripts/setup.sh"
    sync_addon
    fresh_db "$@"
}
