"""Running wrk with bench/wrk/mcp_call.lua against one server, and reading the JSON line it prints.

The line (printed by the script's done()) holds requests, duration_us, bytes, non2xx, rpc_errors, errors
(wrk's socket errors and its status count), first_bad_status, first_bad_body and latency_us percentiles.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from typing import Any

from .paths import LUA_SCRIPT, TMP_DIR
from .runs import Run, RunFailed

EXTRA_TIMEOUT_S = 30
"""How much longer than its duration wrk may take before it counts as hung."""


@dataclass(frozen=True)
class Load:
    """How wrk loads every server: threads, connections, per-request timeout, and its pinning prefix."""

    threads: int
    connections: int
    request_timeout_s: int
    cpu_prefix: tuple[str, ...]


def run_wrk(load: Load, run: Run, url: str, token: str | None, session: str | None, seconds: int,
            phase: str, id_base: int, name: str | None = None, extra: dict[str, str] | None = None) -> dict[str, Any]:
    """Load `url` for `seconds`; keeps wrk's output in TMP_DIR/<name>.wrk-<phase>.txt (`name` defaults to the
    run's name), returns its JSON line.

    `id_base` is added to every JSON-RPC id, so the warm-up and the measured run never reuse an id. `extra` sets
    more of the script's settings (MCP_BENCH_ARGUMENTS, MCP_BENCH_QUANTILES: see bench/wrk/mcp_call.lua).
    """
    argv = list(load.cpu_prefix) + [
        "wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{seconds}s",
        f"--timeout={load.request_timeout_s}s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        url,
    ]
    env = dict(os.environ)
    env.update(
        {
            "MCP_BENCH_MODE": run.mode,
            "MCP_BENCH_PROTOCOL": run.protocol,
            "MCP_BENCH_TOOL": run.tool,
            "MCP_BENCH_TOKEN": token or "",
            "MCP_BENCH_SESSION": session or "",
            "MCP_BENCH_ID_BASE": str(id_base),
            "MCP_BENCH_ARGUMENTS": "",
            "MCP_BENCH_QUANTILES": "",
        }
    )
    env.update(extra or {})
    timeout_s = seconds + EXTRA_TIMEOUT_S
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as error:
        raise RunFailed(f"wrk ({phase}) did not finish within {timeout_s} s") from error
    (TMP_DIR / f"{name or run.name}.wrk-{phase}.txt").write_text(
        "$ " + " ".join(argv) + "\n" + done.stdout + ("\n--- stderr ---\n" + done.stderr if done.stderr else "")
    )
    if done.returncode != 0:
        raise RunFailed(f"wrk ({phase}) exited with {done.returncode}: {done.stderr.strip()[:300]}")
    return result_line(done.stdout, phase)


def result_line(stdout: str, phase: str) -> dict[str, Any]:
    """The last JSON result line in wrk's output."""
    for line in reversed(stdout.splitlines()):
        if line.startswith('{"requests"'):
            return json.loads(line)
    raise RunFailed(f"wrk ({phase}) printed no result line: {stdout[-300:]}")
