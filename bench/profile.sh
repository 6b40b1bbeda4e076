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
REPO_ROOT="$(dirname "$BENCH_DIR")"
VENV="$BENCH_DIR/.venv"
REQUIREMENTS="$BENCH_DIR/requirements.txt"
# The profiler is the module harness.stages, run from the repository root with bench/ on the module path.
PROFILER=(env PYTHONPATH="$BENCH_DIR${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/python" -m harness.stages)

say() { printf '[profile] %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        say "need root (or sudo) to run: $*"; return 1
    fi
}

# --help needs nothing installed.
for arg in "$@"; do
    case "$arg" in -h|--help)
        if [ -x "$VENV/bin/python" ]; then exec "${PROFILER[@]}" --help; fi
        sed -n '2,12p' "$0"; exit 0 ;;
    esac
done

# 1. wrk and perf (linux-perf), and taskset (util-linux, which every Debian has).
missing=()
command -v wrk >/dev/null || missing+=(wrk)
perf --version >/dev/null 2>&1 || missing+=(linux-perf)
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
command -v taskset >/dev/null || say "taskset not found: the server and wrk will not be pinned"
paranoid="$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo 2)"
if [ "$(id -u)" -ne 0 ] && [ "$paranoid" -gt 1 ]; then
    say "not root and perf_event_paranoid=$paranoid: perf may record user space only (no kernel stage);"
    say "run as root or: sudo sysctl kernel.perf_event_paranoid=1"
fi

# 2. The Python packages (the issuer needs PyJWT and cryptography), reinstalled only when requirements.txt
#    changes; the same venv and stamp as bench/http.sh.
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "setting up $VENV"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
    echo "$want" >"$stamp"
fi

# 3. The release binary.
cd "$REPO_ROOT"
if [ "${GATEHOUSE_BENCH_SKIP_BUILD:-0}" != 1 ]; then
    say "swift build -c release --product gatehouse"
    swift build -c release --product gatehouse
fi
BIN="$(swift build -c release --show-bin-path)/gatehouse"
[ -x "$BIN" ] || { say "no release binary at $BIN"; exit 1; }

# 4. The profile (options given on the command line come last, so they win).
exec "${PROFILER[@]}" --gatehouse-bin "$BIN" "$@"
