#!/usr/bin/env bash
# Runs every test: the Swift unit and HTTP tests, then the interop tests that drive
# `gatehouse hub` with the official Python MCP SDK client (installed into a venv here).
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --build-tests
swift test --skip-build
scripts/interop.sh
