#!/usr/bin/env bash
# Gateway benchmark: `gatehouse gateway` (release build) in front of the Gatehouse hub and FastMCP, against the
# same upstream called directly, in the same run.
#
#   bench/gateway.sh [--duration 10] [--warmup 3] [--rounds 3] [--rows hub-stateless,...] [--note TEXT] [options]
#
# Installs what it needs on a fresh machine (shared with bench/http.sh through bench/bootstrap.sh): wrk (apt),
# the pinned Python packages in bench/.venv (bench/requirements.txt: FastMCP 4.1.2), and the release `gatehouse`
# binary (swift build -c release). Then it runs `python -m harness.gateway` (bench/harness/gateway/), which writes
# bench/results/gateway-latest.{json,md}; logs and raw wrk output go to bench/results/tmp/gateway/. Every process
# it starts is stopped on exit, error or interrupt. `bench/gateway.sh --help` lists every option. Exit status 0
# when every request of every measurement succeeded, 1 otherwise (results written either way), 130 when
# interrupted. Environment: GATEHOUSE_BENCH_SKIP_BUILD=1 uses the existing release binary as it is.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { printf '[gateway-bench] %s\n' "$*"; }
# shellcheck source=bench/bootstrap.sh
. "$BENCH_DIR/bootstrap.sh"  # REPO_ROOT, VENV, apt_install, ensure_venv, build_release, release_bin_dir, run_harness, answer_help
answer_help harness.gateway 2,14 "$@"

# 1. wrk (and taskset, from util-linux, which every Debian has).
command -v wrk >/dev/null || apt_install wrk
command -v taskset >/dev/null || say "taskset not found: the processes and wrk will not be pinned"

# 2. The Python packages (FastMCP), reinstalled only when requirements.txt changes.
ensure_venv

# 3. The release binary (the gateway and the hub are both `gatehouse`).
cd "$REPO_ROOT"
build_release gatehouse
BIN="$(release_bin_dir)/gatehouse"
[ -x "$BIN" ] || { say "no release binary at $BIN"; exit 1; }

# 4. The benchmark (options given on the command line come last, so they win). The harness stops every process
#    it started on SIGINT, SIGTERM and SIGHUP (each server runs in a process group of its own).
export FASTMCP_CHECK_FOR_UPDATES=off
run_harness harness.gateway --gatehouse-bin "$BIN" "$@"
