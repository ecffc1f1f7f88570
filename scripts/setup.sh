#!/usr/bin/env bash
# Installs and starts everything the addon needs on a fresh Debian machine.
# Idempotent: each step checks before it acts, so a second run takes seconds.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Bump when install_venv changes what it installs: the venv is rebuilt.
VENV_RECIPE=1
APT_PACKAGES=(postgresql postgresql-client libpq-dev libldap2-dev libsasl2-dev
              python3-dev build-essential rsync chromium)

install_debian_packages() {
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing Debian packages: ${missing[*]} (no apt-get here)"
    say "Installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # An upgraded server under a running cluster fails to load its libraries.
    touch "$STATE/.pg_restart_needed"
}

odoo_source() {
    if [ -f "$ODOO_SRC/odoo-bin" ]; then echo "$ODOO_SRC"; return; fi
    local dl=$STATE/odoo-18.0
    if [ ! -f "$dl/odoo-bin" ]; then
        say "No Odoo tree at ODOO_SRC=$ODOO_SRC: downloading Odoo 18.0 from $ODOO_GIT_URL"
        rm -rf "$dl"
        git clone --quiet --depth 1 --branch 18.0 "$ODOO_GIT_URL" "$dl" >&2 \
            || die "Odoo 18.0 is needed: set ODOO_SRC to an Odoo 18.0 source tree (none at '$ODOO_SRC'), or give this machine access to $ODOO_GIT_URL"
    fi
    echo "$dl"
}

install_venv() {
    local src=$1 stamp
    stamp=$( { echo "$VENV_RECIPE"; cat "$ROOT/scripts/odoo_requirements.py" "$ROOT/requirements.txt" "$ROOT/requirements-test.txt" \
               "$src/requirements.txt"; } | sha1sum | cut -c1-12)-$src
    if [ -f "$VENV/.setup-stamp" ] && [ "$(cat "$VENV/.setup-stamp")" = "$stamp" ]; then
        return 0
    fi
    say "Building the virtualenv $VENV (Odoo from $src)"
    [ -x "$PY" ] || python3 -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip setuptools wheel
    # Odoo pins sdists that no longer build on Python 3.11: take the pins its
    # markers give for Python 3.12, which all ship wheels.
    "$PY" "$ROOT/scripts/odoo_requirements.py" "$src/requirements.txt" > "$STATE/odoo-requirements.txt"
    "$PY" -m pip install -q -r "$STATE/odoo-requirements.txt"
    # compat mode: queue_job installs under site-packages/odoo/addons, which the
    # default editable finder would turn into a namespace package.
    "$PY" -m pip install -q --no-deps -e "$src" --config-settings editable_mode=compat
    if "$PY" -c "import odoo.api, sys; sys.exit(0 if hasattr(odoo.api, 'private') else 1)"; then
        "$PY" -m pip install -q "odoo-addon-queue_job>=18.0,<18.1"
    else
        "$PY" -m pip install -q "odoo-addon-queue_job>=18.0,<18.0.1.7"
    fi
    # The addon's own dependencies (its manifest's external_dependencies), then what
    # the tests and linters need (requirements-test.txt).
    "$PY" -m pip install -q -r "$ROOT/requirements.txt" -r "$ROOT/requirements-test.txt"
    echo "$stamp" > "$VENV/.setup-stamp"
}

# Run as the cluster's user, from a directory it can enter.
as_pg() { (cd / && as_root runuser -u "$PG_OS_USER" -- "$@"); }

ensure_pg_user() {
    id "$PG_OS_USER" >/dev/null 2>&1 && return 0
    say "Creating the unprivileged user '$PG_OS_USER' that runs the private PostgreSQL cluster"
    as_root useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_OS_USER"
}

choose_pg_home() {
    [ -f "$STATE/pg_home" ] && return 0
    local home=$STATE/pg
    mkdir -p "$home"
    as_root chown "$PG_OS_USER" "$home"
    if ! as_pg test -w "$home"; then
        local alt
        alt=/var/lib/$ADDON/$(echo "$ROOT" | sha1sum | cut -c1-12)
        say "PostgreSQL runs as '$PG_OS_USER', who cannot reach $home (a parent directory is private)."
        say "Keeping this checkout's cluster in $alt instead."
        rmdir "$home" 2>/dev/null || true
        as_root mkdir -p "$alt"
        as_root chown "$PG_OS_USER" "$alt"
        home=$alt
    fi
    echo "$home" > "$STATE/pg_home"
}

# The first port from PG_PORT_BASE that no one listens on.
free_port() {
    local port=$PG_PORT_BASE
    while port_busy "$port"; do port=$((port + 1)); done
    echo "$port"
}

# Two checkouts setting up at once would choose the same free port: the choice
# and the start are made one checkout at a time on this machine.
lock_ports() {
    as_root mkdir -p "/var/lib/$ADDON"
    exec 9<"/var/lib/$ADDON"
    flock 9
}

set_cluster_port() {
    local conf=$1/postgresql.conf
    as_pg sed -i '/^port = /d' "$conf"
    echo "port = $2" | as_pg tee -a "$conf" >/dev/null
}

# Starts this checkout's cluster (or finds it running, perhaps shared with
# another checkout through .state/pg_home) and sets CLUSTER_PORT. A stopped
# cluster whose port another program holds moves to a free port.
start_cluster() {
    local bin home data port holder
    bin=$(pg_bindir); home=$(pg_home); data=$home/data
    lock_ports
    if [ ! -f "$data/PG_VERSION" ]; then
        port=${PG_PORT:-$(free_port)}
        port_busy "$port" && die "port $port (PG_PORT) is held by $(port_holder "$port"): choose a free PG_PORT"
        say "Creating the private PostgreSQL cluster in $data (port $port)"
        as_pg "$bin/initdb" -D "$data" -U "$DB_USER" \
            --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        cat <<CONF | as_root tee -a "$data/postgresql.conf" >/dev/null
# cartona_marketplace development cluster: loopback only, its own port.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$home'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
    fi
    local ctl=(as_pg "$bin/pg_ctl" -D "$data" -l "$home/postgresql.log")
    if [ -f "$STATE/.pg_restart_needed" ]; then
        "${ctl[@]}" status >/dev/null 2>&1 && "${ctl[@]}" -m fast -w stop >/dev/null
        rm -f "$STATE/.pg_restart_needed"
    fi
    if "${ctl[@]}" status >/dev/null 2>&1; then
        port=$(as_pg sed -n 4p "$data/postmaster.pid")
        [ -z "$PG_PORT" ] || [ "$PG_PORT" = "$port" ] \
            || die "this checkout's cluster ($data) runs on port $port: unset PG_PORT=$PG_PORT, or stop the cluster to move it"
    else
        port=$(as_pg sed -n 's/^port = \([0-9]*\).*/\1/p' "$data/postgresql.conf" | tail -n 1)
        if [ -n "$PG_PORT" ]; then
            port_busy "$PG_PORT" && die "port $PG_PORT (PG_PORT) is held by $(port_holder "$PG_PORT"): choose a free PG_PORT"
        elif port_busy "$port"; then
            holder=$(port_holder "$port")
            # Never move a cluster that runs where pg_ctl cannot see it.
            [ "$holder" != "the PostgreSQL cluster in $data" ] \
                || die "the cluster in $data answers on port $port, but pg_ctl does not see it running"
            PG_PORT=$(free_port)
            say "Port $port of this checkout's cluster is held by $holder, not by this checkout: moving this checkout's cluster ($data) to port $PG_PORT"
        fi
        if [ -n "$PG_PORT" ] && [ "$PG_PORT" != "$port" ]; then
            set_cluster_port "$data" "$PG_PORT"
            port=$PG_PORT
        fi
        say "Starting PostgreSQL on 127.0.0.1:$port"
        # fd 9 (the lock) closed: the server would hold the lock for its life.
        "${ctl[@]}" -w -t 60 start >/dev/null 9<&- || {
            tail -n 20 "$home/postgresql.log" >&2
            port_busy "$port" && die "PostgreSQL did not start: port $port is held by $(port_holder "$port")"
            die "PostgreSQL did not start (see $home/postgresql.log)"
        }
    fi
    exec 9<&-
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" || die "PostgreSQL does not answer on port $port"
    CLUSTER_PORT=$port
}

write_odoo_conf() {
    local src=$1 http_port
    http_port=${HTTP_PORT:-$(checkout_port 8069 "$CLUSTER_PORT")}
    mkdir -p "$STATE/addons" "$STATE/data"
    cat > "$(odoo_conf)" <<CONF
[options]
addons_path = $src/addons,$STATE/addons
data_dir = $STATE/data
db_host = 127.0.0.1
db_port = $CLUSTER_PORT
db_user = $DB_USER
db_password = False
admin_passwd = admin
server_wide_modules = web,queue_job
http_interface = 127.0.0.1
http_port = $http_port
list_db = True
without_demo = all
[queue_job]
channels = root:2,root.marketplace:1,root.marketplace_poll:1
CONF
}

main() {
    mkdir -p "$STATE"
    install_debian_packages
    local src
    src=$(odoo_source)
    install_venv "$src"
    ensure_pg_user
    choose_pg_home
    start_cluster
    write_odoo_conf "$src"
}

main "$@"
