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
REPO_ROOT="$(dirname "$BENCH_DIR")"
VENV="$BENCH_DIR/.venv"
REQUIREMENTS="$BENCH_DIR/requirements.txt"
# The harness is the package bench/harness/, run from the repository root with bench/ on the module path.
HARNESS=(env PYTHONPATH="$BENCH_DIR${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/python" -m harness)

say() { printf '[bench] %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        say "need root (or sudo) to run: $*"; return 1
    fi
}

# --help needs nothing installed.
for arg in "$@"; do
    case "$arg" in -h|--help)
        if [ -x "$VENV/bin/python" ]; then exec "${HARNESS[@]}" --help; fi
        sed -n '2,12p' "$0"; exit 0 ;;
    esac
done

# 1. wrk (and taskset, from util-linux, which every Debian has).
if ! command -v wrk >/dev/null; then
    say "installing wrk"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; then
        as_root apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk
    fi
fi
command -v taskset >/dev/null || say "taskset not found: servers and wrk will not be pinned"

# 2. The Python packages, reinstalled only when requirements.txt changes.
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "setting up $VENV"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
    echo "$want" >"$stamp"
fi

# 3. The release binaries. `swift build --product` takes one product (a repeated --product is not a list),
#    so each gets its own build; the second reuses what the first built.
cd "$REPO_ROOT"
if [ "${GATEHOUSE_BENCH_SKIP_BUILD:-0}" != 1 ]; then
    for product in gatehouse bench-ceiling; do
        say "swift build -c release --product $product"
        swift build -c release --product "$product"
    done
fi
BIN_DIR="$(swift build -c release --show-bin-path)"
BIN="$BIN_DIR/gatehouse"
CEILING_BIN="$BIN_DIR/bench-ceiling"
[ -x "$BIN" ] || { say "no release binary at $BIN"; exit 1; }
# A missing bench-ceiling is the harness's to report, and only if the ceiling is among --servers.

# 4. The benchmark (options given on the command line come last, so they win).
export FASTMCP_CHECK_FOR_UPDATES=off
exec "${HARNESS[@]}" --gatehouse-bin "$BIN" --ceiling-bin "$CEILING_BIN" "$@"
