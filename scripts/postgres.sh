#!/usr/bin/env bash
# Throwaway PostgreSQL clusters for tests (the PostgreSQL store, several Gatehouse instances behind a
# load balancer). Debian's server (the `postgresql` package) is installed when it is missing; the
# binaries are taken from /usr/lib/postgresql/<newest>/bin. A system cluster (pg_lsclusters,
# /var/lib/postgresql) is never started, stopped or touched.
#
#   scripts/postgres.sh start DIR PORT         a new cluster in DIR (or the one already there) running
#                                              on 127.0.0.1:PORT, with role `gatehouse` (password
#                                              `gatehouse`) and database `gatehouse` owned by it;
#                                              prints postgres://gatehouse:gatehouse@127.0.0.1:PORT/gatehouse
#   scripts/postgres.sh createdb DIR PORT NAME  another empty database NAME owned by gatehouse (kept
#                                              when it exists); prints its URL
#   scripts/postgres.sh stop DIR               stops the cluster (fast mode) and removes DIR
#
# The URL is the last line on stdout; progress and errors go to stderr. Every command can be run
# again (start on a running cluster, stop on a removed one). Layout of DIR (made owned by the
# cluster's OS user; its parent directories must be searchable by that user):
#   DIR/data          the data directory     DIR/.s.PGSQL.PORT  the Unix socket (and its lock)
#   DIR/postgres.log  the server's log       DIR/initdb.log     initdb's output
#   DIR/.gatehouse-throwaway  the marker without which stop refuses to delete anything
# Access: TCP on 127.0.0.1 only (listen_addresses), `trust` for every role (GATEHOUSE_PG_AUTH=
# scram-sha-256 makes TCP logins check the password instead); the socket in DIR, `trust`, for
# this script's own superuser work (superuser `postgres`). Durability is off (fsync, full page
# writes, synchronous commit): a crash may lose the cluster, which is a throwaway anyway.
#
# PostgreSQL refuses to run as root: as root, initdb, pg_ctl and psql run as the `postgres` OS user
# (created by the Debian package); as anyone else, as that user themselves.
set -euo pipefail

START_TIMEOUT_S=30   # pg_ctl -t for start and stop
ROLE=gatehouse       # also spelled out in the SQL of cmd_start
PASSWORD=gatehouse
MARKER=.gatehouse-throwaway

usage() {
    sed -n '6,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
die() { echo "postgres.sh: $*" >&2; exit 1; }

# Settings of the caller's PostgreSQL clients (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATA, ...) must
# not redirect anything done here.
for variable in $(compgen -e); do
    case "$variable" in PG*) unset "$variable" ;; esac
done

# ---------------------------------------------------------------- the binaries
find_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/psql" ]; then
        echo "$dir"
    fi
}
BIN="$(find_bin)"
if [ -z "$BIN" ]; then
    [ "$(id -u)" -eq 0 ] || die "PostgreSQL is missing (/usr/lib/postgresql/*/bin/initdb) and installing it needs root: apt-get install postgresql"
    echo "postgres.sh: PostgreSQL is missing; installing Debian's postgresql package" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    BIN="$(find_bin)"
    [ -n "$BIN" ] || die "the postgresql package is installed but /usr/lib/postgresql/*/bin/initdb is still missing"
fi

# ---------------------------------------------------------------- who runs the cluster
if [ "$(id -u)" -eq 0 ]; then
    OWNER=postgres
    id "$OWNER" >/dev/null 2>&1 || die "running as root needs the OS user 'postgres' (Debian's postgresql-common creates it)"
    # runuser (util-linux) keeps the environment; cd / so nothing complains about root's cwd.
    as_owner() { (cd / && runuser -u "$OWNER" -- "$@"); }
else
    OWNER="$(id -un)"
    as_owner() { (cd / && "$@"); }
fi

# ---------------------------------------------------------------- arguments
absolute() { realpath -m -- "$1"; }

check_dir() {
    # Refuse anything that could be a system cluster or a directory someone cares about.
    local dir="$1"
    case "$dir" in
        /|/usr|/usr/*|/etc|/etc/*|/var/lib/postgresql|/var/lib/postgresql/*|/var/run/postgresql*|/run/postgresql*|/home|/root|/tmp|/var|/var/tmp)
            die "refusing to use $dir for a throwaway cluster" ;;
    esac
    [[ "$dir" =~ ^[A-Za-z0-9_./+-]+$ ]] || die "DIR may hold only letters, digits and _ . / + - (it goes into postgresql.conf): $dir"
    # The Unix socket path must fit in sun_path (107 bytes).
    [ "${#dir}" -le 90 ] || die "DIR is too long for a Unix socket path inside it (${#dir} > 90 characters): $dir"
}

check_port() {
    [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1024 ] && [ "$1" -le 65535 ] || die "PORT must be a number from 1024 to 65535, not '$1'"
}

check_name() {
    # Plain identifiers only, so they need no quoting anywhere (SQL, URL).
    [[ "$1" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "database names are lower-case letters, digits and _ (at most 63, not starting with a digit): '$1'"
}

url() { echo "postgres://$ROLE:$PASSWORD@127.0.0.1:$1/$2"; }

# psql as the superuser over the cluster's socket, stopping at the first error.
superuser_psql() {
    local dir="$1" port="$2"
    shift 2
    as_owner "$BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres "$@"
}

running_port() {
    # The port of the postmaster running on DIR/data, or nothing when none runs.
    local dir="$1"
    if as_owner "$BIN/pg_ctl" status -D "$dir/data" >/dev/null 2>&1; then
        sed -n '4p' "$dir/data/postmaster.pid" 2>/dev/null || true
    fi
}

show_log() {
    local file="$1"
    if [ -f "$file" ]; then
        echo "--- $file (last 40 lines) ---" >&2
        tail -n 40 "$file" >&2 || true
    fi
}

# ---------------------------------------------------------------- start
cmd_start() {
    [ $# -eq 2 ] || usage
    local dir port auth
    dir="$(absolute "$1")"
    port="$2"
    check_dir "$dir"
    check_port "$port"
    auth="${GATEHOUSE_PG_AUTH:-trust}"
    case "$auth" in trust|scram-sha-256|md5) ;; *) die "GATEHOUSE_PG_AUTH must be trust, scram-sha-256 or md5, not '$auth'" ;; esac

    if [ -e "$dir" ] && [ ! -f "$dir/$MARKER" ]; then
        [ -d "$dir" ] || die "$dir exists and is not a directory"
        [ -z "$(ls -A "$dir")" ] || die "$dir is not empty and was not made by this script (no $MARKER); refusing to use it"
    fi
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown "$OWNER:" "$dir"
    fi
    chmod 700 "$dir"
    as_owner test -w "$dir" -a -x "$dir" \
        || die "the OS user '$OWNER' cannot reach $dir: make its parent directories searchable (chmod o+x)"

    if [ ! -f "$dir/data/PG_VERSION" ]; then
        rm -rf "$dir/data"
        touch "$dir/$MARKER"
        echo "postgres.sh: initdb $dir/data ($("$BIN/postgres" --version))" >&2
        if ! as_owner "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust --no-locale --encoding=UTF8 \
            --no-sync >"$dir/initdb.log" 2>&1; then
            show_log "$dir/initdb.log"
            die "initdb failed"
        fi
        # Later lines win in postgresql.conf. The port is given to pg_ctl each time (-p) instead.
        cat >>"$dir/data/postgresql.conf" <<EOF

# ---- scripts/postgres.sh: a throwaway test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = 32MB
huge_pages = off
# Parallel queries take dynamic shared memory from /dev/shm, which containers often keep small (64 MB).
max_parallel_workers_per_gather = 0
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
        cat >"$dir/data/pg_hba.conf" <<EOF
# scripts/postgres.sh: the socket (inside $dir, mode 0700) for the script's own superuser work;
# TCP from 127.0.0.1 only. Nothing else may connect.
local all all              trust
host  all all 127.0.0.1/32 $auth
EOF
    fi

    local current
    current="$(running_port "$dir")"
    if [ -n "$current" ]; then
        [ "$current" = "$port" ] || die "the cluster in $dir already runs on port $current, not $port"
        echo "postgres.sh: the cluster in $dir already runs on port $port" >&2
    else
        if ! as_owner "$BIN/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" -w -t "$START_TIMEOUT_S" \
            -o "-p $port" >/dev/null 2>"$dir/pg_ctl.err"; then
            cat "$dir/pg_ctl.err" >&2 || true
            show_log "$dir/postgres.log"
            # pg_ctl gave up waiting, the server may still be coming up: stop it so no stray postmaster stays.
            as_owner "$BIN/pg_ctl" stop -D "$dir/data" -m immediate -w -t 10 >/dev/null 2>&1 || true
            die "the server in $dir did not start on 127.0.0.1:$port (pg_ctl waits at most ${START_TIMEOUT_S} s; its log is above)"
        fi
    fi

    # Quoted heredoc: $$ is PL/pgSQL's quote here, not the shell's PID.
    superuser_psql "$dir" "$port" >/dev/null <<'SQL'
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'gatehouse') THEN
        ALTER ROLE gatehouse LOGIN PASSWORD 'gatehouse';
    ELSE
        CREATE ROLE gatehouse LOGIN PASSWORD 'gatehouse';
    END IF;
END
$$;
SQL
    create_database "$dir" "$port" "$ROLE"
    url "$port" "$ROLE"
}

create_database() {
    local dir="$1" port="$2" name="$3"
    if [ -z "$(superuser_psql "$dir" "$port" -c "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]; then
        superuser_psql "$dir" "$port" -c "CREATE DATABASE $name OWNER $ROLE" >/dev/null
    fi
}

# ---------------------------------------------------------------- createdb
cmd_createdb() {
    [ $# -eq 3 ] || usage
    local dir port name current
    dir="$(absolute "$1")"
    port="$2"
    name="$3"
    check_dir "$dir"
    check_port "$port"
    check_name "$name"
    [ -f "$dir/$MARKER" ] || die "$dir holds no cluster made by this script (run: $0 start $dir $port)"
    current="$(running_port "$dir")"
    [ "$current" = "$port" ] || die "no cluster of $dir runs on port $port${current:+ (it runs on $current)}"
    create_database "$dir" "$port" "$name"
    url "$port" "$name"
}

# ---------------------------------------------------------------- stop
cmd_stop() {
    [ $# -eq 1 ] || usage
    local dir pid
    dir="$(absolute "$1")"
    check_dir "$dir"
    if [ ! -e "$dir" ]; then
        echo "postgres.sh: $dir does not exist; nothing to stop" >&2
        return 0
    fi
    [ -f "$dir/$MARKER" ] || die "$dir was not made by this script (no $MARKER); refusing to stop or delete it"
    if [ -f "$dir/data/postmaster.pid" ]; then
        if ! as_owner "$BIN/pg_ctl" stop -D "$dir/data" -m fast -w -t "$START_TIMEOUT_S" >/dev/null 2>&1; then
            # Fast shutdown did not finish in time: the postmaster gets SIGKILL (its children die with it).
            pid="$(sed -n '1p' "$dir/data/postmaster.pid" 2>/dev/null || true)"
            if [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$dir/data" ]; then
                echo "postgres.sh: fast shutdown of $dir timed out; killing postmaster $pid" >&2
                kill -KILL "$pid" 2>/dev/null || true
                for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            fi
        fi
    fi
    rm -rf -- "$dir"
}

[ $# -ge 1 ] || usage
command="$1"
shift
case "$command" in
    start) cmd_start "$@" ;;
    createdb) cmd_createdb "$@" ;;
    stop) cmd_stop "$@" ;;
    *) usage ;;
esac
