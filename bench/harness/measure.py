"""One run: start the server, probe it, warm it up, measure it under wrk, and fill in its record."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .console import log
from .issuer import LocalIssuer
from .options import Options
from .paths import BENCH_DIR
from .probes import open_session, probe
from .procstats import children_cpu_seconds, cpu_seconds, peak_rss_kib, system_busy_seconds, thread_count
from .runs import CEILING, Run, RunFailed
from .servers import ServerProcess, wait_ready
from .wrk import Load, run_wrk

MEASURE_ID_BASE = 10**12
"""JSON-RPC ids of the measured run start here, far above any the warm-up used."""


@dataclass
class LoadedRun:
    """wrk's result line for the measured run and the CPU time spent while it ran, in seconds: by the server's
    process tree, by the tree of each other process measured alongside (`other_cpu`, in the order given), by wrk
    and by everything else."""

    result: dict[str, Any]
    wall: float
    server_cpu: float
    wrk_cpu: float
    background_cpu: float
    other_cpu: tuple[float, ...] = ()


def new_record(run: Run, server: ServerProcess, round_number: int | None = None) -> dict[str, Any]:
    """The run's record before it starts (one round's, with "round", for a repeated run): what runs and how;
    status "failed" until measured."""
    record: dict[str, Any] = {
        "name": run.name,
        "label": run.label,
        "server": run.server,
        "mode": run.mode,
        "protocol": run.protocol,
        "auth": run.auth,
        "token_sent": run.token_sent,
        "status": "failed",
    }
    if round_number is not None:
        record["round"] = round_number
    record["argv"] = server.argv
    record["log"] = str(server.log_path.relative_to(BENCH_DIR))
    if run.server == CEILING:
        record["transport"] = {
            "note": "bare Hummingbird route, the physical ceiling: JSONDecoder on the body, the sum, JSONEncoder; "
            "no auth (Authorization ignored), no MCP header or _meta checks, no schema validation"
        }
    elif run.server != "gatehouse":
        record["transport"] = {
            "json_response": True,
            "stateless_http": run.mode == "stateless",
            "note": "2026-07-28 requests go to the SDK's single-exchange (stateless) path whatever "
            "stateless_http says"
            if run.mode == "stateless"
            else "initialize-era session (stateful Streamable HTTP, JSON responses)",
        }
    else:
        record["transport"] = {"note": "one endpoint serves both; the client's protocol picks stateless or session"}
    return record


def measure_server(record: dict[str, Any], server: ServerProcess, issuer: LocalIssuer, options: Options,
                   load: Load) -> None:
    """Start `server`, check it, warm it up and measure it, adding each finding to `record`.

    Raises RunFailed (or an OSError, ValueError, KeyError or SubprocessError) when the server fails;
    stopping it is the caller's job.
    """
    run = server.run
    log(f"{server.name}: starting on port {server.port}")
    server.start()
    assert server.process is not None
    record["startup_s"] = round(wait_ready(server, options.startup_timeout), 3)
    token = issuer.mint(server.mcp_url) if run.sends_token else None
    if token is not None:
        record["token_bytes"] = len(token)
    session = open_session(server, token) if run.mode == "session" else None
    record["probe"] = probe(server, issuer, token, session)
    if options.warmup > 0:
        log(f"{server.name}: warm-up {options.warmup} s")
        warm = run_wrk(load, run, server.mcp_url, token, session, options.warmup, "warmup", 0, server.name)
        record["warmup"] = {"requests": warm["requests"], "non2xx": warm["non2xx"]}
    if server.process.poll() is not None:
        raise RunFailed(f"exited with code {server.process.returncode} during warm-up: {server.log_tail()}")
    log(f"{server.name}: measuring {options.duration} s")
    loaded = timed_load(load, run, server.mcp_url, [server.process.pid], token, session, options.duration,
                        server.name)
    if server.process.poll() is not None:
        raise RunFailed(f"exited with code {server.process.returncode} during the run: {server.log_tail()}")
    record_figures(record, loaded, server.process.pid, server.name)


def record_figures(record: dict[str, Any], loaded: LoadedRun, pid: int, name: str) -> None:
    """Add the measured run's figures (the server's from `pid`'s tree), the first bad answer and whether the run
    was clean to `record`, and log them as measurement `name`."""
    record.update(figures(loaded, pid))
    result = loaded.result
    if result["first_bad_status"]:
        record["first_bad_response"] = {"status": result["first_bad_status"], "body": result["first_bad_body"]}
    record["clean"] = result["non2xx"] == 0 and result["rpc_errors"] == 0 and record["socket_errors"] == 0
    _log_summary(name, record)


def timed_load(load: Load, run: Run, url: str, pids: list[int], token: str | None, session: str | None,
               seconds: int, name: str, extra: dict[str, str] | None = None) -> LoadedRun:
    """The measured wrk run against `url`, with the CPU time of the process tree of each of `pids` (the first is
    the server's, the others go to `other_cpu`), of wrk and of everything else; `extra` as in `run_wrk`."""
    trees_before = [cpu_seconds(pid) for pid in pids]
    busy_before = system_busy_seconds()
    children_before = children_cpu_seconds()
    wall_before = time.monotonic()
    result = run_wrk(load, run, url, token, session, seconds, "measure", MEASURE_ID_BASE, name, extra)
    wall = time.monotonic() - wall_before
    trees = [cpu_seconds(pid) - before for pid, before in zip(pids, trees_before)]
    wrk_cpu = children_cpu_seconds() - children_before
    # CPU time the machine spent on anything but the measured processes and wrk while measuring
    # (another build, say): a large figure means the numbers are disturbed.
    background = system_busy_seconds() - busy_before - sum(trees) - wrk_cpu
    return LoadedRun(result, wall, trees[0], wrk_cpu, background, tuple(trees[1:]))


def figures(loaded: LoadedRun, pid: int) -> dict[str, Any]:
    """The record's measured fields: throughput, latency, server CPU and memory (of `pid`'s tree), and the error
    counts."""
    result, cpu, wall = loaded.result, loaded.server_cpu, loaded.wall
    requests = result["requests"]
    seconds = result["duration_us"] / 1e6
    return {
        "status": "ok",
        "requests": requests,
        "duration_s": round(seconds, 3),
        "req_per_s": round(requests / seconds, 1) if seconds > 0 else 0.0,
        "latency_ms": {k: round(v / 1000, 3) for k, v in result["latency_us"].items()},
        "latency_us": result["latency_us"],
        "server_cpu_s": round(cpu, 3),
        "server_cpu_ms_per_request": round(cpu * 1000 / requests, 5) if requests else None,
        "server_cpu_utilisation": round(cpu / wall, 3) if wall > 0 else None,
        "peak_rss_mib": round(peak_rss_kib(pid) / 1024, 1),
        "server_threads": thread_count(pid),
        "wrk_cpu_s": round(loaded.wrk_cpu, 3),
        "background_cpu_s": round(max(loaded.background_cpu, 0.0), 3),
        "non2xx": result["non2xx"],
        "rpc_errors": result["rpc_errors"],
        "socket_errors": sum(v for k, v in result["errors"].items() if k != "status"),
        "wrk_errors": result["errors"],
    }


def _log_summary(name: str, record: dict[str, Any]) -> None:
    """One line with the measurement's headline figures, and its errors if it was not clean."""
    log(
        f"{name}: {record['req_per_s']:.0f} req/s, p50 {record['latency_ms']['p50']} ms, "
        f"p99 {record['latency_ms']['p99']} ms, {record['server_cpu_ms_per_request']} CPU-ms/req, "
        f"{record['peak_rss_mib']} MiB"
        + ("" if record["clean"] else f"  !! non-2xx {record['non2xx']}, rpc errors {record['rpc_errors']}, "
           f"socket errors {record['socket_errors']}")
    )
