"""Where the benchmark's inputs and outputs live: bench/ and the files under it."""

from __future__ import annotations

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
"""bench/, the directory that holds this package."""

REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
TMP_DIR = RESULTS_DIR / "tmp"
"""Server logs, raw wrk output and each server's working directory."""

LUA_SCRIPT = BENCH_DIR / "wrk" / "mcp_call.lua"
PEERS_DIR = BENCH_DIR / "peers"
"""The FastMCP and Python SDK servers under test."""
