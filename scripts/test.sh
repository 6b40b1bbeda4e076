#!/usr/bin/env bash
# Runs every test: the Swift unit and HTTP tests, then builds the release archive
# (scripts/release.sh), then the interop tests that drive `gatehouse` with the official
# Python MCP SDK client, mcp-authlab and headless Chromium (installed into a venv / from apt
# by scripts/interop.sh), the released binary included.
set -euo pipefail
cd "$(dirname "$0")/.."

# GRDB (the SQLite store) compiles against the system SQLite headers.
if [ ! -f /usr/include/sqlite3.h ]; then
    echo "test: /usr/include/sqlite3.h is missing; installing Debian's libsqlite3-dev" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsqlite3-dev >/dev/null
fi

# Each phase says when it ends and how long it took, so a slow CI run shows where the time went.
phase_started=$SECONDS
phase_done() { echo "test: $1 took $((SECONDS - phase_started)) s (total $SECONDS s)" >&2; phase_started=$SECONDS; }

swift build --build-tests
phase_done "the debug build"
# A throwaway PostgreSQL (Debian's package, installed when missing): the store conformance suite and
# the scaling tests run on it as well as on SQLite. Stopped and removed on exit.
pg_dir="$(mktemp -d /tmp/gatehouse-pg.XXXXXX)"
chmod 0711 "$pg_dir"
trap 'scripts/postgres.sh stop "$pg_dir/cluster" >/dev/null 2>&1 || true; rm -rf "$pg_dir"' EXIT
pg_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
GATEHOUSE_TEST_POSTGRES_URL="$(scripts/postgres.sh start "$pg_dir/cluster" "$pg_port" | tail -n 1)"
export GATEHOUSE_TEST_POSTGRES_URL
swift test --skip-build
phase_done "swift test"
# The release archive, so the interop tests can run it with the Swift toolchain out of reach.
archive="$(scripts/release.sh | tail -n 1)"
phase_done "the release archive"
GATEHOUSE_RELEASE_ARCHIVE="$PWD/$archive" scripts/interop.sh
