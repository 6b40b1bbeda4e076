#!/usr/bin/env bash
# Interop tests: the official Python `mcp` SDK, FastMCP, mcp-authlab, oidc-provider-mock, the workos
# SDK and Playwright (from PyPI, pinned in Tests/Interop/requirements.txt) against real `gatehouse`
# processes; nginx, caddy and systemd-analyze check deploy/ (Debian packages); Playwright drives
# Debian's headless Chromium through the sign-in page (installed here when it is missing); the hub
# tests also need the sqlite3 CLI (Debian's sqlite3 package, installed here when it is missing), the
# PostgreSQL store's tests Debian's PostgreSQL server (the postgresql package, likewise).
# Then the embedded login, OAuth, hub and upstream-login suites run a second time in cluster mode
# (GATEHOUSE_INTEROP_DEPLOYMENT=cluster): each hub is three instances on PostgreSQL behind nginx.
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
bin="$(swift build --show-bin-path)/gatehouse"
started=$SECONDS
GATEHOUSE_BIN="$bin" "$venv/bin/python" -m pytest Tests/Interop -q "$@"
echo "interop: the single-instance run took $((SECONDS - started)) s" >&2

# The same suites again against a deployment of several instances (conftest.py, cluster mode): every
# hub is three `gatehouse hub` processes on a PostgreSQL database behind nginx round robin
# (peers/cluster.py); tests marked single_instance are skipped with their reason. About 80 s; bounded
# at 15 minutes. With a -k filter that leaves nothing of these files, pytest's "no tests" (5) is fine.
cluster_suites=(test_embedded_login.py test_embedded_oauth.py test_hub.py test_upstream_login.py)
status=0
started=$SECONDS
GATEHOUSE_BIN="$bin" GATEHOUSE_INTEROP_DEPLOYMENT=cluster timeout --kill-after=30 900 \
    "$venv/bin/python" -m pytest "${cluster_suites[@]/#/Tests/Interop/}" -q "$@" || status=$?
echo "interop: the cluster-mode run took $((SECONDS - started)) s" >&2
if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
    [ "$status" -ne 124 ] || echo "interop: the cluster-mode run took over 15 minutes" >&2
    exit "$status"
fi
