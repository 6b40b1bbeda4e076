#!/usr/bin/env bash
# Interop tests: the official Python `mcp` SDK (from PyPI, pinned in
# Tests/Interop/requirements.txt) against a real `gatehouse hub` process.
# Creates .venv-interop on first use; reuses it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-interop
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    echo "interop: python3 cannot create virtual environments; installing python3-venv" >&2
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
fi
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r Tests/Interop/requirements.txt

swift build --build-tests  # same flags as scripts/test.sh, so this is a no-op after it
GATEHOUSE_BIN="$(swift build --show-bin-path)/gatehouse" "$venv/bin/python" -m pytest Tests/Interop -q "$@"
