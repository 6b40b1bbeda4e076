"""The whole store benchmark: on each backend, a fresh hub (and for PostgreSQL a fresh cluster), the login, refresh
and tool-call phases, and what the report needs from each."""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from ..benchmark import RUN_ERRORS
from ..console import log
from ..environment import machine_info, read_loadavg, versions
from ..measure import LoadedRun, timed_load
from ..paths import TMP_DIR
from ..pinning import Pinning
from ..procstats import children_cpu_seconds, cpu_seconds, peak_rss_kib, system_busy_seconds
from ..runs import Run, RunFailed
from ..servers import ServerProcess, free_port, wait_ready
from ..wrk import Load, run_wrk
from . import machine, pgstats
from .backends import (FILES_DIR, PostgresCluster, hub_log_problems, new_secret_key, prepare_hub,
                       scratch_directory, sqlite_library)
from .comparisons import comparisons
from .mcp import ARGUMENTS, NOTES_CONFIG, activate_notes, call
from .oauth_load import OAuthWorker, StepFailed, run_workers
from .options import Options

OAUTH_PHASES = (("logins", "login"), ("refresh", "refresh"))
"""(phase, the workers' operation)."""

TOOL_PHASES = ("whoami", "notes_add", "notes_list")
PHASES = tuple(name for name, _ in OAUTH_PHASES) + TOOL_PHASES


def cpu_list(text: str) -> set[int]:
    """taskset's CPU list ("1", "0-1", "0,2") as a set."""
    cpus: set[int] = set()
    for part in text.split(","):
        if "-" in part:
            low, high = part.split("-", 1)
            cpus.update(range(int(low), int(high) + 1))
        elif part.strip():
            cpus.add(int(part))
    return cpus


class StoreBenchmark:
    """Measures every backend with the given options; `hub`, `cluster` and `sampler` are what runs now, if any."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.pinning = Pinning.detect(options.pin, options.server_cpu, options.client_cpu)
        self.server_prefix = self.pinning.prefix(options.server_cpu)
        self.client_prefix = self.pinning.prefix(options.client_cpu)
        self.load = Load(1, options.connections, options.request_timeout, tuple(self.client_prefix))
        self.secret_key = new_secret_key()
        self.hub: ServerProcess | None = None
        self.cluster: PostgresCluster | None = None
        self.sampler: pgstats.WaitSampler | None = None
        self.workers: list[OAuthWorker] = []
        self.scratch: Path | None = None

    # ------------------------------------------------------------------ the run

    def execute(self) -> dict[str, Any]:
        """Measure every backend and return the report (what the JSON file holds)."""
        (TMP_DIR / FILES_DIR).mkdir(parents=True, exist_ok=True)
        if self.pinning.enabled:
            os.sched_setaffinity(0, cpu_list(self.options.client_cpu))
        started = dt.datetime.now(dt.timezone.utc)
        loadavg_before = read_loadavg()
        log(f"pinning: {self.describe_pinning()}")
        self.scratch = scratch_directory()
        try:
            backends = {backend: self.measure_backend(backend) for backend in self.options.backends}
        finally:
            self.stop()
        return {
            "benchmark": "gatehouse-store",
            "date": started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "command": os.environ.get("STORE_BENCH_COMMAND") or "python -m harness.store " + " ".join(sys.argv[1:]),
            "machine": machine_info(loadavg_before),
            "versions": {**versions(self.options.gatehouse_bin),
                         "gatehouse_binary_built": dt.datetime.fromtimestamp(
                             self.options.gatehouse_bin.stat().st_mtime, dt.timezone.utc).isoformat(timespec="seconds"),
                         "sqlite": sqlite_library(self.options.gatehouse_bin)},
            "settings": self.settings(),
            "backends": backends,
            "comparisons": comparisons(backends),
        }

    def measure_backend(self, backend: str) -> dict[str, Any]:
        """One backend's record: its hub (and cluster), every phase, what the logs say; "failed" with the reason if
        something broke (the phases measured until then are kept)."""
        options = self.options
        record: dict[str, Any] = {"backend": backend, "status": "failed", "phases": {}}
        log(f"===== {backend}")
        try:
            assert self.scratch is not None
            if backend == "postgres":
                self.cluster = PostgresCluster(self.scratch / "pg", free_port(), self.server_prefix,
                                               self.client_prefix)
                self.cluster.start(options.postgres_durability)
                record["postgres"] = {"version": self.cluster.version, "durability": options.postgres_durability,
                                      "settings": self.cluster.settings,
                                      "pool_size": options.pool_size or "hub default (10)"}
                self.sampler = pgstats.WaitSampler(self.cluster, TMP_DIR / FILES_DIR / "pg_stat_activity.txt")
                self.sampler.start()
            self.hub = prepare_hub(backend, options.gatehouse_bin, self.scratch, self.secret_key, self.cluster,
                                   self.server_prefix, options.pool_size)
            record["hub_argv"] = [part if not part.startswith("postgres://") else _redacted(part)
                                  for part in self.hub.argv]
            log(f"{backend}: starting the hub on port {self.hub.port}")
            self.hub.start()
            record["startup_s"] = round(wait_ready(self.hub, options.startup_timeout), 3)
            self.oauth_phases(record)
            self.tool_phases(record)
            record["status"] = "ok"
        except RUN_ERRORS + (StepFailed,) as error:
            record["error"] = str(error) if isinstance(error, (RunFailed, StepFailed)) else \
                f"{type(error).__name__}: {error}"
            log(f"{backend}: FAILED: {record['error']}")
        finally:
            self.finish_backend(record)
        return record

    def finish_backend(self, record: dict[str, Any]) -> None:
        """Stop what the backend ran and add what its logs and samples say to `record`."""
        for worker in self.workers:
            worker.close()
        self.workers = []
        if self.hub is not None:
            record["hub_exit_code"] = self.hub.stop()
            record["hub_log"] = hub_log_problems(self.hub)
            record["hub_log_path"] = str(self.hub.log_path)
            self.hub = None
        if self.sampler is not None:
            self.sampler.stop()
            samples = self.sampler.samples()
            for phase in record["phases"].values():
                if "windows" in phase:
                    phase["postgres_activity"] = pgstats.summarise(samples, phase["windows"])
            self.sampler = None
        if self.cluster is not None:
            record.setdefault("postgres", {})["log"] = self.cluster.log_problems()
            self.cluster.stop()
            self.cluster = None

    # ------------------------------------------------------------------ logins and refresh rotations

    def oauth_phases(self, record: dict[str, Any]) -> None:
        """Register the workers' clients, then each OAuth phase: a warm-up, and the measured run."""
        assert self.hub is not None
        self.workers = [OAuthWorker(self.hub.port, index, self.options.request_timeout)
                        for index in range(self.options.workers)]
        for worker in self.workers:
            worker.register()
        # Every worker has a refresh token before anything is measured (the refresh phase needs one).
        for worker in self.workers:
            worker.login()
        for phase, operation in OAUTH_PHASES:
            seconds = self.options.login_duration if phase == "logins" else self.options.refresh_duration
            entry: dict[str, Any] = {"operation": operation, "workers": len(self.workers)}
            record["phases"][phase] = entry
            if self.options.warmup > 0:
                log(f"{record['backend']}: {phase}: warm-up {self.options.warmup} s")
                warm = run_workers(self.workers, operation, self.options.warmup)
                entry["warmup"] = {"completed": warm.completed, "errors": dict(warm.errors)}
            log(f"{record['backend']}: {phase}: measuring {seconds} s with {len(self.workers)} workers")
            before = self.snapshot()
            result = run_workers(self.workers, operation, seconds)
            entry.update(result.figures())
            entry.update(self.cpu_since(before, result.completed))
            self.check_alive(phase)
            entry["clean"] = not result.errors
            log(f"{record['backend']}: {phase}: {entry['per_s']:.0f}/s, p50 {entry['latency_ms'].get('p50')} ms, "
                f"p99 {entry['latency_ms'].get('p99')} ms, hub {entry['hub_cpu_us_per_op']} µs/op"
                + (f", postgres {entry['postgres_cpu_us_per_op']} µs/op" if self.cluster else "")
                + ("" if entry["clean"] else f"  !! errors {dict(result.errors)}"))

    # ------------------------------------------------------------------ tool calls

    def tool_phases(self, record: dict[str, Any]) -> None:
        """One login for the tool client, notes activated and every tool called once; then each tool phase."""
        assert self.hub is not None
        client = OAuthWorker(self.hub.port, len(self.workers), self.options.request_timeout)
        self.workers.append(client)
        client.register()
        token = client.login().access_token
        activate_notes(self.hub.mcp_url, token)
        for tool in TOOL_PHASES:  # each answers once before any load
            call(self.hub.mcp_url, token, tool, ARGUMENTS[tool])
        for tool in TOOL_PHASES:
            record["phases"][tool] = self.tool_phase(record["backend"], tool, token)

    def tool_phase(self, backend: str, tool: str, token: str) -> dict[str, Any]:
        """A warm-up, then the measured wrk run; notes_add in rounds, each from an empty notebook (the quota is
        10000 notes, which a fast store fills in a few seconds, and each addition counts the notebook), merged."""
        assert self.hub is not None
        options, url = self.options, self.hub.mcp_url
        extra = {"MCP_BENCH_ARGUMENTS": json.dumps(ARGUMENTS[tool], separators=(",", ":")), "MCP_BENCH_QUANTILES": "1"}
        run = Run("gatehouse", "stateless", True, tool=tool)
        name = f"{FILES_DIR}/{backend}-{tool}"
        rounds, seconds = (notes_rounds(options.tool_duration, options.notes_round) if tool == "notes_add"
                           else (1, options.tool_duration))
        entry: dict[str, Any] = {"tool": tool, "arguments": ARGUMENTS[tool], "connections": self.load.connections,
                                 "rounds": rounds, "round_s": seconds}
        if tool == "notes_add":
            entry["notebook"] = NOTES_CONFIG
        if options.warmup > 0:
            log(f"{backend}: {tool}: warm-up {options.warmup} s")
            warm = run_wrk(self.load, run, url, token, None, options.warmup, "warmup", 0, name, extra)
            entry["warmup"] = {"requests": warm["requests"], "non2xx": warm["non2xx"], "rpc_errors": warm["rpc_errors"]}
        log(f"{backend}: {tool}: measuring {rounds} × {seconds} s, {self.load.connections} connections")
        counters_before = pgstats.counters(self.cluster) if self.cluster is not None else None
        loads, windows = [], []
        work: dict[str, Any] = {}
        for number in range(1, rounds + 1):
            if tool == "notes_add":
                activate_notes(url, token)  # an empty notebook, whatever the warm-up or the last round added
            started, processes = time.time(), machine.process_ticks()
            loads.append(timed_load(self.load, run, url, self.pids(), token, None, seconds,
                                    name + (f"-r{number}" if rounds > 1 else ""), extra))
            work = machine.add_work(work, machine.other_work(processes, machine.process_ticks(),
                                                             machine.measured_pids(self.pids())))
            windows.append([started, time.time()])
            self.check_alive(tool)
        entry.update(merged_figures(loads, self.cluster is not None))
        entry.update(machine.summary(work, sum(loaded.wall for loaded in loads)))
        entry["peak_rss_mib"] = round(peak_rss_kib(self.pids()[0]) / 1024, 1)
        entry["windows"] = windows
        if tool == "notes_add":
            entry["notes_per_round"] = [loaded.result["requests"] - loaded.result["rpc_errors"] for loaded in loads]
        if self.cluster is not None and counters_before is not None:
            entry["postgres_counters"] = pgstats.counter_delta(counters_before, pgstats.counters(self.cluster))
        latency = entry["latency_ms"]
        log(f"{backend}: {tool}: {entry['req_per_s']:.0f} calls/s, p50 {latency['p50']} ms, p90 {latency['p90']} ms, "
            f"p99 {latency['p99']} ms, hub {entry['hub_cpu_us_per_op']} µs/op"
            + (f", postgres {entry['postgres_cpu_us_per_op']} µs/op" if self.cluster else "")
            + ("" if entry["clean"] else f"  !! non-2xx {entry['non2xx']}, rpc errors {entry['rpc_errors']}, "
               f"socket errors {entry['socket_errors']}: {entry.get('first_bad_response')}"))
        return entry

    # ------------------------------------------------------------------ readings

    def pids(self) -> list[int]:
        """The hub's PID, then the postmaster's (its tree: every backend) when PostgreSQL runs."""
        assert self.hub is not None and self.hub.process is not None
        return [self.hub.process.pid] + ([self.cluster.postmaster_pid()] if self.cluster else [])

    def snapshot(self) -> dict[str, Any]:
        """Before a measured run: PostgreSQL's counters, then the CPU time of the hub and PostgreSQL, and the time."""
        taken: dict[str, Any] = {}
        if self.cluster is not None:
            taken["counters"] = pgstats.counters(self.cluster)
        taken["processes"] = machine.process_ticks()
        taken["cpu"] = [cpu_seconds(pid) for pid in self.pids()]
        taken["own"] = own_cpu_seconds()
        taken["busy"] = system_busy_seconds()
        taken["wall"] = time.time()
        return taken

    def cpu_since(self, before: dict[str, Any], operations: int) -> dict[str, Any]:
        """The hub's and PostgreSQL's CPU time since `before`, per operation, and the measured window; with
        PostgreSQL, its counters over the window."""
        end = time.time()
        busy = system_busy_seconds() - before["busy"]
        own = own_cpu_seconds() - before["own"]
        cpu = [cpu_seconds(pid) - was for pid, was in zip(self.pids(), before["cpu"])]
        work = machine.other_work(before["processes"], machine.process_ticks(), machine.measured_pids(self.pids()))
        wall = end - before["wall"]
        hub_cpu = cpu[0]
        pg_cpu = cpu[1] if len(cpu) > 1 else 0.0
        found: dict[str, Any] = {
            "windows": [[before["wall"], end]],
            "hub_cpu_s": round(hub_cpu, 3),
            "postgres_cpu_s": round(pg_cpu, 3) if self.cluster else None,
            "hub_cpu_us_per_op": round(hub_cpu * 1e6 / operations, 1) if operations else None,
            "postgres_cpu_us_per_op": round(pg_cpu * 1e6 / operations, 1) if operations and self.cluster else None,
            "server_core_utilisation": round((hub_cpu + pg_cpu) / wall, 3) if wall > 0 else None,
            # The machine's busy time less the hub's, PostgreSQL's and this process's (the workers): the kernel's
            # own threads and interrupts, and any other process.
            "background_cpu_s": round(max(busy - hub_cpu - pg_cpu - own, 0.0), 3),
            "background_cores": round(max(busy - hub_cpu - pg_cpu - own, 0.0) / wall, 3) if wall > 0 else None,
            **machine.summary(work, wall),
        }
        if self.cluster is not None:
            found["postgres_counters"] = pgstats.counter_delta(before["counters"], pgstats.counters(self.cluster))
        return found

    def check_alive(self, phase: str) -> None:
        assert self.hub is not None and self.hub.process is not None
        if self.hub.process.poll() is not None:
            raise RunFailed(f"the hub exited with code {self.hub.process.returncode} during {phase}: "
                            f"{self.hub.log_tail()}")

    # ------------------------------------------------------------------ the rest

    def describe_pinning(self) -> str:
        if not self.pinning.enabled:
            return "off"
        return f"hub and PostgreSQL on cpu {self.options.server_cpu}, load (workers, wrk, psql) on cpu " \
               f"{self.options.client_cpu}"

    def settings(self) -> dict[str, Any]:
        o = self.options
        return {
            "backends": o.backends,
            "workers": o.workers,
            "login_duration_s": o.login_duration,
            "refresh_duration_s": o.refresh_duration,
            "tool_duration_s": o.tool_duration,
            "warmup_s": o.warmup,
            "tool_connections": o.connections,
            "notes_round_s": o.notes_round,
            "request_timeout_s": o.request_timeout,
            "pinning": {"server_cpu": o.server_cpu, "client_cpu": o.client_cpu} if self.pinning.enabled else None,
            "postgres_durability": o.postgres_durability,
            "pool_size": o.pool_size,
            "hub": "gatehouse hub --host 127.0.0.1 --log-level warning --dev-auto-approve, GATEHOUSE_SECRET_KEY set "
                   "(the same for both); --database-path FILE (SQLite) or --database-url URL (PostgreSQL)",
            "note": o.note,
        }

    def stop(self) -> None:
        """Stop whatever runs (after an interrupt or at the end) and remove the scratch directory."""
        for worker in self.workers:
            worker.close()
        self.workers = []
        if self.hub is not None:
            self.hub.stop()
            self.hub = None
        if self.sampler is not None:
            self.sampler.stop()
            self.sampler = None
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None


def _redacted(url: str) -> str:
    """A postgres:// URL without its password."""
    head, _, tail = url.partition("@")
    scheme, _, credentials = head.partition("://")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}"


def own_cpu_seconds() -> float:
    """This process's CPU time (the login workers are its threads) and its waited-for children's, in seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime + children_cpu_seconds()


def notes_rounds(duration: int, round_s: int) -> tuple[int, int]:
    """(rounds, seconds each) of the notes_add phase: rounds of `round_s` adding up to about `duration`."""
    seconds = min(round_s, duration)
    return max(1, round(duration / seconds)), seconds


def merged_percentile(loads: list[LoadedRun], percent: float) -> float:
    """The latency (µs) at `percent` of every request of `loads` together: each run's distribution (its latency at
    every 0.1 %, from the wrk script) weighted by its request count."""
    points: list[tuple[float, float]] = []
    for loaded in loads:
        quantiles, requests = loaded.result.get("quantiles_us") or [], loaded.result["requests"]
        points += [(float(value), requests / len(quantiles)) for value in quantiles] if quantiles and requests else []
    if not points:
        return 0.0
    points.sort()
    target = sum(weight for _, weight in points) * percent / 100
    reached = 0.0
    for value, weight in points:
        reached += weight
        if reached >= target * (1 - 1e-9):
            return value
    return points[-1][0]


def merged_figures(loads: list[LoadedRun], with_postgres: bool) -> dict[str, Any]:
    """One tool phase's figures from its wrk runs: rate over their summed durations, merged percentiles, CPU time
    of the hub and PostgreSQL per call, how busy the server's and wrk's cores were, and the error counts."""
    requests = sum(loaded.result["requests"] for loaded in loads)
    seconds = sum(loaded.result["duration_us"] for loaded in loads) / 1e6
    wall = sum(loaded.wall for loaded in loads)
    hub_cpu = sum(loaded.server_cpu for loaded in loads)
    pg_cpu = sum(loaded.other_cpu[0] for loaded in loads) if with_postgres else 0.0
    wrk_cpu = sum(loaded.wrk_cpu for loaded in loads)
    latency = {name: round(merged_percentile(loads, percent) / 1000, 3)
               for name, percent in (("p50", 50), ("p90", 90), ("p99", 99))}
    latency["max"] = round(max(loaded.result["latency_us"]["max"] for loaded in loads) / 1000, 3)
    non2xx = sum(loaded.result["non2xx"] for loaded in loads)
    rpc_errors = sum(loaded.result["rpc_errors"] for loaded in loads)
    socket_errors = sum(v for loaded in loads for k, v in loaded.result["errors"].items() if k != "status")
    found: dict[str, Any] = {
        "requests": requests,
        "duration_s": round(seconds, 3),
        "req_per_s": round(requests / seconds, 1) if seconds > 0 else 0.0,
        "latency_ms": latency,
        "hub_cpu_s": round(hub_cpu, 3),
        "postgres_cpu_s": round(pg_cpu, 3) if with_postgres else None,
        "hub_cpu_us_per_op": round(hub_cpu * 1e6 / requests, 1) if requests else None,
        "postgres_cpu_us_per_op": round(pg_cpu * 1e6 / requests, 1) if requests and with_postgres else None,
        "server_core_utilisation": round((hub_cpu + pg_cpu) / wall, 3) if wall > 0 else None,
        "wrk_cpu_s": round(wrk_cpu, 3),
        "client_cpu_utilisation": round(wrk_cpu / wall, 3) if wall > 0 else None,
        "background_cpu_s": round(sum(max(loaded.background_cpu, 0.0) for loaded in loads), 3),
        "background_cores": round(sum(max(loaded.background_cpu, 0.0) for loaded in loads) / wall, 3)
        if wall > 0 else None,
        "non2xx": non2xx,
        "rpc_errors": rpc_errors,
        "socket_errors": socket_errors,
        "clean": non2xx == 0 and rpc_errors == 0 and socket_errors == 0,
    }
    bad = next((loaded.result for loaded in loads if loaded.result["first_bad_status"]), None)
    if bad is not None:
        found["first_bad_response"] = {"status": bad["first_bad_status"], "body": bad["first_bad_body"]}
    return found
