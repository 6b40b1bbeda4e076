#!/usr/bin/env bash
# Authenticated HTTP benchmark: Gatehouse (release build) against FastMCP, the official Python MCP SDK and
# the ceiling (bench-ceiling, a bare Hummingbird endpoint).
#
#   bench/http.sh [--duration 10] [--warmup 3] [--rounds 3] [--connections 16] [--threads 2] [other harness options]
#
# Installs what it needs on a fresh machine: wrk (apt), the pinned Python packages in bench/.venv
# (bench/requirements.txt), and the release `gatehouse` and `bench-ceiling` binaries (swift build -c release).
# Then it runs `python -m harness` (bench/harness/), which writes bench/results/http-latest.{json,md,png};
# server logs and raw wrk output go to bench/results/tmp/. `bench/http.sh --help` lists every option. Exit
# status 0 when every server ran with only 2xx answers, 1 when one failed or saw errors (results written
# either way). Environment: GATEHOUSE_BENCH_SKIP_BUILD=1 uses the existing release binaries as they are.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { printf '[bench] %s\n' "$*"; }
# shellcheck source=bench/bootstrap.sh
. "$BENCH_DIR/bootstrap.sh"  # REPO_ROOT, VENV, apt_install, ensure_venv, build_release, release_bin_dir, run_harness, answer_help
answer_help harness 2,12 "$@"

# 1. wrk (and taskset, from util-linux, which every Debian has).
command -v wrk >/dev/null || apt_install wrk
command -v taskset >/dev/null || say "taskset not found: servers and wrk will not be pinned"

# 2. The Python packages, reinstalled only when requirements.txt changes.
ensure_venv

# 3. The release binaries.
cd "$REPO_ROOT"
build_release gatehouse bench-ceiling
BIN_DIR="$(release_bin_dir)"
BIN="$BIN_DIR/gatehouse"
CEILING_BIN="$BIN_DIR/bench-ceiling"
[ -x "$BIN" ] || { say "no release binary at $BIN"; exit 1; }
# A missing bench-ceiling is the harness's to report, and only if the ceiling is among --servers.

# 4. The benchmark (options given on the command line come last, so they win).
export FASTMCP_CHECK_FOR_UPDATES=off
run_harness harness --gatehouse-bin "$BIN" --ceiling-bin "$CEILING_BIN" "$@"
