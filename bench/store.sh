#!/usr/bin/env bash
# Store benchmark: the hub (release build) on the SQLite store and on the PostgreSQL store, in one run: logins/s
# (the embedded OAuth code flow with PKCE, no browser), refresh rotations/s, and tool-call latency (whoami, notes_add,
# notes_list), each reported for both and as the ratio PostgreSQL / SQLite.
#
#   bench/store.sh [--workers 8] [--login-duration 15] [--refresh-duration 10] [--tool-duration 8] [--warmup 2] [options]
#
# Installs what it needs on a fresh machine (shared with bench/http.sh through bench/bootstrap.sh): wrk (apt), the
# pinned Python packages in bench/.venv (bench/requirements.txt), the release `gatehouse` binary (swift build -c
# release), and PostgreSQL (scripts/postgres.sh installs Debian's server when it is missing). Runs as root (the
# cluster then runs as the postgres OS user) or as a user who may run PostgreSQL. Then it runs `python -m
# harness.store` (bench/harness/store/), which writes bench/results/store-latest.{json,md}; hub logs, wrk output and
# the pg_stat_activity samples go to bench/results/tmp/store/. The PostgreSQL cluster is a throwaway one in /tmp,
# stopped and removed at the end, on error and on interrupt. About 2 minutes with the defaults.
# `bench/store.sh --help` lists every option. Exit status 0 when every request of every phase succeeded, 1 otherwise
# (results written either way), 130 when interrupted. Environment: GATEHOUSE_BENCH_SKIP_BUILD=1 uses the existing
# release binary as it is.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { printf '[store-bench] %s\n' "$*"; }
# shellcheck source=bench/bootstrap.sh
. "$BENCH_DIR/bootstrap.sh"  # REPO_ROOT, VENV, apt_install, ensure_venv, build_release, release_bin_dir, run_harness, answer_help
answer_help harness.store 2,17 "$@"

# 1. wrk, psql (the client; the server comes with scripts/postgres.sh) and taskset (util-linux, on every Debian).
command -v wrk >/dev/null || apt_install wrk
command -v psql >/dev/null || apt_install postgresql-client
command -v taskset >/dev/null || say "taskset not found: the hub, PostgreSQL and the load will not be pinned"

# 2. The Python packages, reinstalled only when requirements.txt changes.
ensure_venv

# 3. The release binary.
cd "$REPO_ROOT"
build_release gatehouse
BIN="$(release_bin_dir)/gatehouse"
[ -x "$BIN" ] || { say "no release binary at $BIN"; exit 1; }

# 4. The benchmark (options given on the command line come last, so they win). The harness stops the hub, the
#    cluster and the sampler on SIGINT, SIGTERM and SIGHUP.
export STORE_BENCH_COMMAND="bench/store.sh${*:+ $*}"
run_harness harness.store --gatehouse-bin "$BIN" "$@"
