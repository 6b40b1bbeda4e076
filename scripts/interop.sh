#!/usr/bin/env bash
# Interop tests: the official Python `mcp` SDK, FastMCP, mcp-authlab, oidc-provider-mock, the workos
# SDK and Playwright (from PyPI, pinned in Tests/Interop/requirements.txt) against real `gatehouse`
# processes; nginx, caddy and systemd-analyze check deploy/ (Debian packages); Playwright drives
# Debian's headless Chromium through the sign-in page (installed here when it is missing); the hub
# tests also need the sqlite3 CLI (Debian's sqlite3 package, installed here when it is missing), the
# PostgreSQL store's tests Debian's PostgreSQL server (the postgresql package, likewise).
# Creates .venv-interop on first use; reuses it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-interop
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    echo "interop: python3 cannot create virtual environments; installing python3-venv" >&2
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
fi
# The sign-in page tests drive Debian's Chromium (never a browser Playwright downloads).
if [ -z "${GATEHOUSE_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
    echo "interop: /usr/bin/chromium is missing; installing Debian's chromium package" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# The hub tests read the database with the sqlite3 CLI, as an operator would.
if ! command -v sqlite3 >/dev/null 2>&1; then
    echo "interop: the sqlite3 CLI is missing; installing Debian's sqlite3 package" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null
fi
# The PostgreSQL store's tests run throwaway clusters of Debian's server (scripts/postgres.sh).
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    echo "interop: PostgreSQL is missing; installing Debian's postgresql package" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
# The deployment examples (deploy/) are checked by the tools that read them.
for tool in nginx:nginx caddy:caddy systemd-analyze:systemd openssl:openssl; do
    command="${tool%%:*}" package="${tool##*:}"
    if ! command -v "$command" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$command" ]; then
        echo "interop: $command is missing; installing Debian's $package package" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
    fi
done
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r Tests/Interop/requirements.txt

swift build --build-tests  # same flags as scripts/test.sh, so this is a no-op after it
GATEHOUSE_BIN="$(swift build --show-bin-path)/gatehouse" "$venv/bin/python" -m pytest Tests/Interop -q "$@"
