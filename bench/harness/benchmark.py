"""The whole benchmark: the issuer, every planned measurement one after another (the ceiling comparison's runs
in interleaved rounds), and the report they make."""

from __future__ import annotations

import datetime as dt
import subprocess
from typing import Any

from .comparisons import against_ceiling, auth_cost, ratios
from .console import log
from .environment import machine_info, read_loadavg, versions
from .issuer import LocalIssuer
from .measure import measure_server, new_record
from .options import Options
from .paths import TMP_DIR
from .pinning import Pinning
from .rounds import repeated_record, schedule
from .runs import Run, RunFailed, planned_runs
from .servers import ServerProcess, prepare_server
from .wrk import Load

TOOL_CALL = "tools/call add {a: N, b: 1}, a unique JSON-RPC id per request"
TOKEN = "RS256 JWT, kid from the JWKS, iss = local issuer, aud = the server's MCP URL, exp +1 h"

RUN_ERRORS = (RunFailed, OSError, ValueError, KeyError, subprocess.SubprocessError)
"""Errors that fail one run, which is recorded, while the others still run."""


class Benchmark:
    """Runs every planned server with the given options; `current` is the server running now, if any."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.issuer = LocalIssuer()
        self.current: ServerProcess | None = None
        self.pinning = Pinning.detect(options.pin, options.server_cpu, options.wrk_cpu)
        self.load = Load(options.threads, options.connections, options.request_timeout,
                         tuple(self.pinning.wrk_prefix()))

    def execute(self) -> dict[str, Any]:
        """Run everything and return the report (what the JSON file holds)."""
        TMP_DIR.mkdir(parents=True, exist_ok=True)
        started = dt.datetime.now(dt.timezone.utc)
        loadavg_before = read_loadavg()
        self.issuer.start()
        log(f"issuer at {self.issuer.issuer}; pinning: {self.pinning.describe()}")
        runs = planned_runs(self.options.servers, self.options.noauth_peers)
        try:
            records = self.measure_all(runs)
        finally:
            self.issuer.stop()
        return {
            "benchmark": "gatehouse-http",
            "date": started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine_info(loadavg_before),
            "versions": versions(self.options.gatehouse_bin),
            "settings": self.settings(),
            "issuer_hits": dict(self.issuer.hits),
            "runs": records,
            "ratios": ratios(records),
            "auth_cost": auth_cost(records),
            "ceiling": against_ceiling(records),
        }

    def measure_all(self, runs: list[Run]) -> list[dict[str, Any]]:
        """Every measurement in `schedule` order; returns one record per run, in the order of `runs` (a repeated
        run's is its median round's, with all its rounds)."""
        measured: dict[str, list[dict[str, Any]]] = {run.name: [] for run in runs}
        for run, round_number in schedule(runs, self.options.rounds):
            if round_number is not None:
                log(f"{run.name}: round {round_number} of {self.options.rounds}")
            measured[run.name].append(self.measure(run, round_number))
        return [repeated_record(measured[run.name]) if run.in_ceiling_comparison else measured[run.name][0]
                for run in runs]

    def measure(self, run: Run, round_number: int | None = None) -> dict[str, Any]:
        """One measurement's record (of round `round_number` of a repeated run, if given), "ok" or "failed"
        with the reason, in a server process of its own, which is stopped either way."""
        server = prepare_server(run, self.issuer, self.options.gatehouse_bin, self.options.ceiling_bin, self.pinning,
                                round_number)
        record = new_record(run, server, round_number)
        self.current = server
        try:
            measure_server(record, server, self.issuer, self.options, self.load)
        except RUN_ERRORS as error:
            record["status"] = "failed"
            record["error"] = f"{type(error).__name__}: {error}" if not isinstance(error, RunFailed) else str(error)
            log(f"{server.name}: FAILED: {record['error']}")
        finally:
            record["exit_code"] = server.stop()
            self.current = None
        return record

    def settings(self) -> dict[str, Any]:
        """The load settings as the report records them."""
        return {
            "duration_s": self.options.duration,
            "warmup_s": self.options.warmup,
            "rounds": self.options.rounds,
            "connections": self.options.connections,
            "threads": self.options.threads,
            "request_timeout_s": self.options.request_timeout,
            "pinning": self.pinning.settings(),
            "tool_call": TOOL_CALL,
            "token": TOKEN,
        }

    def stop(self) -> None:
        """Stop the server running now, if any, and the issuer (after an interrupt)."""
        if self.current is not None:
            self.current.stop()
        self.issuer.stop()
