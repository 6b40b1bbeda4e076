#!/usr/bin/env bash
# Where the time goes: a stage profile of Gatehouse's authenticated hot path (release build) under wrk.
#
#   bench/profile.sh [--duration 10] [--warmup 3] [--mode stateless|session] [--no-auth] [--debug] [--output P]
#
# Installs what it needs on a fresh Debian machine: wrk and linux-perf (apt), the pinned Python packages in
# bench/.venv (bench/requirements.txt, shared with bench/http.sh), and the release `gatehouse` binary (swift
# build -c release). Then it runs `python -m harness.stages` (bench/harness/stages/): the hub with JWT auth
# on CPU 0, wrk on CPU 1, `perf record -e cpu-clock -F 999 -g` of the server during the run, every sample
# given to a stage. Writes bench/results/profile-latest.{md,json}; perf.data, server log and wrk output go to
# bench/results/tmp/. `bench/profile.sh --help` lists every option. Needs root (or sudo) for apt and perf.
# Environment: GATEHOUSE_BENCH_SKIP_BUILD=1 uses the existing release binary as it is.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { printf '[profile] %s\n' "$*"; }
# shellcheck source=bench/bootstrap.sh
. "$BENCH_DIR/bootstrap.sh"  # REPO_ROOT, VENV, apt_install, ensure_venv, build_release, release_bin_dir, run_harness, answer_help
answer_help harness.stages 2,12 "$@"

# 1. wrk and perf (linux-perf), and taskset (util-linux, which every Debian has).
missing=()
command -v wrk >/dev/null || missing+=(wrk)
perf --version >/dev/null 2>&1 || missing+=(linux-perf)
[ "${#missing[@]}" -eq 0 ] || apt_install "${missing[@]}"
command -v taskset >/dev/null || say "taskset not found: the server and wrk will not be pinned"
paranoid="$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo 2)"
if [ "$(id -u)" -ne 0 ] && [ "$paranoid" -gt 1 ]; then
    say "not root and perf_event_paranoid=$paranoid: perf may record user space only (no kernel stage);"
    say "run as root or: sudo sysctl kernel.perf_event_paranoid=1"
fi

# 2. The Python packages (the issuer needs PyJWT and cryptography), reinstalled only when requirements.txt
#    changes; the same venv and stamp as bench/http.sh.
ensure_venv

# 3. The release binary.
cd "$REPO_ROOT"
build_release gatehouse
BIN="$(release_bin_dir)/gatehouse"
[ -x "$BIN" ] || { say "no release binary at $BIN"; exit 1; }

# 4. The profile (options given on the command line come last, so they win).
run_harness harness.stages --gatehouse-bin "$BIN" "$@"
