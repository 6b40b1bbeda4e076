"""One measurement of the gateway benchmark: start the target's processes, check them, warm them up, measure them
under wrk, and fill in the record (the upstream's figures as the main harness records a server's, plus the
gateway's CPU time and memory)."""

from __future__ import annotations

from typing import Any

from ..console import log
from ..measure import LoadedRun, record_figures, timed_load
from ..paths import BENCH_DIR
from ..probes import open_session, probe
from ..procstats import peak_rss_kib, thread_count
from ..runs import RunFailed
from ..wrk import Load, run_wrk
from .options import Options
from .probes import gateway_era, offered_versions
from .runs import UPSTREAM_NAMES, Target
from .stack import FILES_DIR, Stack


def new_record(target: Target, stack: Stack, round_number: int) -> dict[str, Any]:
    """The measurement's record before it starts: what runs and how; status "failed" until measured."""
    record: dict[str, Any] = {
        "name": target.name,
        "label": target.label,
        "upstream": target.upstream,
        "upstream_name": UPSTREAM_NAMES[target.upstream],
        "mode": target.mode,
        "protocol": target.client_run.protocol,
        "tool": target.client_run.tool,
        "via_gateway": target.via_gateway,
        "upstream_protocol": target.upstream_protocol,
        "load": target.load,
        "round": round_number,
        "status": "failed",
        "argv": {role: server.argv for role, server in stack.roles},
        "log": {role: str(server.log_path.relative_to(BENCH_DIR)) for role, server in stack.roles},
    }
    return record


def measure_stack(record: dict[str, Any], stack: Stack, options: Options, load: Load) -> None:
    """Start the stack, check it (a call through the entry; direct: which versions the upstream offers; through
    the gateway: which era it chose), warm it up and measure it, adding each finding to `record`.

    Raises RunFailed (or an OSError, ValueError, KeyError or SubprocessError) when a process fails; stopping
    the stack is the caller's job.
    """
    target, entry = stack.target, stack.entry
    run = entry.run
    name = f"{FILES_DIR}/{target.name}-r{record['round']}"
    record["startup_s"] = stack.start(options.startup_timeout)
    if not target.via_gateway:
        record["upstream_offers"] = offered_versions(stack.upstream)
    session = open_session(entry, None) if run.mode == "session" else None
    record["probe"] = probe(entry, None, None, session)
    if stack.gateway is not None and target.upstream_protocol is not None:
        record["upstream_era"] = gateway_era(stack.gateway, target.upstream_protocol, run.mode)
    if options.warmup > 0:
        log(f"{name}: warm-up {options.warmup} s, {load.connections} connection(s)")
        warm = run_wrk(load, run, entry.mcp_url, None, session, options.warmup, "warmup", 0, name)
        record["warmup"] = {"requests": warm["requests"], "non2xx": warm["non2xx"]}
    _check_alive(stack, "during warm-up")
    log(f"{name}: measuring {options.duration} s, {load.connections} connection(s)")
    pids = [server.process.pid for _, server in stack.roles if server.process is not None]
    loaded = timed_load(load, run, entry.mcp_url, pids, None, session, options.duration, name)
    _check_alive(stack, "during the run")
    record_figures(record, loaded, pids[0], name)
    if stack.gateway is not None:
        record.update(_gateway_figures(loaded, pids[1]))
        log(f"{name}: gateway {record['gateway_cpu_ms_per_request']} CPU-ms/req, {record['gateway_peak_rss_mib']} MiB")


def _gateway_figures(loaded: LoadedRun, pid: int) -> dict[str, Any]:
    """The gateway's CPU time (total, per request, share of the wall time) and memory over the measured run."""
    cpu, requests = loaded.other_cpu[0], loaded.result["requests"]
    return {
        "gateway_cpu_s": round(cpu, 3),
        "gateway_cpu_ms_per_request": round(cpu * 1000 / requests, 5) if requests else None,
        "gateway_cpu_utilisation": round(cpu / loaded.wall, 3) if loaded.wall > 0 else None,
        "gateway_peak_rss_mib": round(peak_rss_kib(pid) / 1024, 1),
        "gateway_threads": thread_count(pid),
    }


def _check_alive(stack: Stack, when: str) -> None:
    """RunFailed if the upstream or the gateway has exited."""
    for _, server in stack.roles:
        assert server.process is not None
        if server.process.poll() is not None:
            raise RunFailed(f"{server.name} exited with code {server.process.returncode} {when}: {server.log_tail()}")
