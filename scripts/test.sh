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

swift build --build-tests
swift test --skip-build
# The release archive, so the interop tests can run it with the Swift toolchain out of reach.
archive="$(scripts/release.sh | tail -n 1)"
GATEHOUSE_RELEASE_ARCHIVE="$PWD/$archive" scripts/interop.sh
