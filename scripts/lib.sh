# Shared settings and helpers for the project's scripts. Sourced, never run.
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ADDON=cartona_marketplace
VENV=${VENV:-$ROOT/.venv}
STATE=${STATE:-$ROOT/.state}
ODOO_SRC=${ODOO_SRC:-/opt/odoo-18.0}
ODOO_GIT_URL=${ODOO_GIT_URL:-https://github.com/odoo/odoo.git}
# Each checkout's cluster has a port of its own, chosen by setup.sh (the first
# free one from PG_PORT_BASE) and kept in the cluster's configuration. PG_PORT,
# when set, is the port a new cluster takes or this checkout's stopped one moves to.
PG_PORT_BASE=54329
PG_PORT=${PG_PORT:-}
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

# The port of this checkout's cluster, as setup.sh last found it.
pg_port() { sed -n 's/^db_port = //p' "$(odoo_conf)"; }

psql_q() { "$(pg_bindir)/psql" -h 127.0.0.1 -p "$(pg_port)" -U "$DB_USER" -d postgres -tAq "$@"; }

port_busy() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for_url URL [TRIES]: until URL answers, 0.2 s apart; fails after TRIES.
wait_for_url() {
    local url=$1 tries=${2:-150}
    until "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$url" 2>/dev/null; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || return 1
        sleep 0.2
    done
}

# The servers a script starts (the sandbox, Odoo, a follower): `PIDS+=($!)`
# after each. At exit they stop last started first (Odoo's jobs never meet a
# sandbox already gone), each given a moment to stop by itself (a Ctrl-C
# reached it too; a second signal would force Odoo's shutdown), then asked.
PIDS=()
stop_children() {
    local i tries
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        tries=10
        while kill -0 "${PIDS[i]}" 2>/dev/null && [ "$tries" -gt 0 ]; do sleep 0.2; tries=$((tries - 1)); done
        kill -TERM "${PIDS[i]}" 2>/dev/null || true
        wait "${PIDS[i]}" 2>/dev/null || true
    done
}
stop_children_at_exit() {
    trap stop_children EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# What listens on 127.0.0.1:PORT, in words: one of the project's clusters tells
# where its data is; else the process, as far as this user may see it.
port_holder() {
    local dir
    if dir=$(PGCONNECT_TIMEOUT=3 "$(pg_bindir)/psql" -h 127.0.0.1 -p "$1" -U "$DB_USER" -d postgres -tAq \
             -c "SHOW data_directory" 2>/dev/null); then
        echo "the PostgreSQL cluster in $dir"
        return
    fi
    "$PY" - "$1" 2>/dev/null <<'PY' || echo "another program"
import sys

import psutil

port = int(sys.argv[1])
for conn in psutil.net_connections("tcp"):
    if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
        process = psutil.Process(conn.pid)
        print(f"process {conn.pid} ({' '.join(process.cmdline())[:100]}, in {process.cwd()})")
        sys.exit(0)
sys.exit(1)
PY
}

# checkout_port BASE [CLUSTER_PORT]: the default port of one of this checkout's
# servers. The checkout whose cluster has the first port gets BASE, the next one
# BASE + 200, and so on: two checkouts' tests and demos do not collide.
checkout_port() {
    local n=$(( ${2:-$(pg_port)} - PG_PORT_BASE ))
    { [ "$n" -ge 0 ] && [ "$n" -lt 100 ]; } || n=0
    echo $(( $1 + 200 * n ))
}

# ensure_free PORT SETTING: stop with who holds PORT, if anyone does.
ensure_free() {
    if port_busy "$1"; then
        die "port $1 is held by $(port_holder "$1"), not by this checkout: set $2 to a free port"
    fi
}

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
