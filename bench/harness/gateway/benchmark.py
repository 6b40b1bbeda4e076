"""The whole gateway benchmark: every target in interleaved rounds, each measurement in fresh processes, and the
report they make."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..benchmark import RUN_ERRORS
from ..console import log
from ..environment import machine_info, read_loadavg, versions
from ..paths import TMP_DIR
from ..pinning import Pinning
from ..rounds import repeated_record
from ..runs import RunFailed
from ..wrk import Load
from .comparisons import comparisons
from .measure import measure_stack, new_record
from .options import Options
from .runs import Target, planned_targets, schedule
from .stack import FILES_DIR, Stack, prepare_stack

TOOL_CALL = ("tools/call add {a: N, b: 1} (the main benchmark's request; through the gateway the tool is "
             "NAME_add), a unique JSON-RPC id per request, no Authorization header")


class GatewayBenchmark:
    """Measures every planned target with the given options; `current` is the stack running now, if any."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.current: Stack | None = None
        self.pinning = Pinning.detect(options.pin, options.server_cpu, options.wrk_cpu)
        wrk_prefix = tuple(self.pinning.wrk_prefix())
        self.loads = {
            "latency": Load(1, options.latency_connections, options.request_timeout, wrk_prefix),
            "throughput": Load(options.threads, options.connections, options.request_timeout, wrk_prefix),
        }

    def execute(self) -> dict[str, Any]:
        """Measure everything and return the report (what the JSON file holds)."""
        (TMP_DIR / FILES_DIR).mkdir(parents=True, exist_ok=True)
        started = dt.datetime.now(dt.timezone.utc)
        loadavg_before = read_loadavg()
        log(f"pinning: {self.pinning.describe()}, gateway cpu {self.options.gateway_cpu}")
        targets = planned_targets(self.options.rows)
        records = self.measure_all(targets)
        return {
            "benchmark": "gatehouse-gateway",
            "date": started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine_info(loadavg_before),
            "versions": versions(self.options.gatehouse_bin),
            "settings": self.settings(),
            "targets": list(records.values()),
            "comparisons": comparisons(self.options.rows, records),
        }

    def measure_all(self, targets: list[Target]) -> dict[Target, dict[str, Any]]:
        """Every measurement in `schedule` order; returns each target's record (its median round's by req/s, with
        all its rounds), in the order of `targets`."""
        measured: dict[Target, list[dict[str, Any]]] = {target: [] for target in targets}
        total = len(targets) * self.options.rounds
        for index, (target, round_number) in enumerate(schedule(targets, self.options.rounds), start=1):
            log(f"[{index}/{total}] {target.label}: round {round_number} of {self.options.rounds}")
            measured[target].append(self.measure(target, round_number))
        return {target: repeated_record(measured[target]) for target in targets}

    def measure(self, target: Target, round_number: int) -> dict[str, Any]:
        """One measurement's record, "ok" or "failed" with the reason, in processes of its own, which are stopped
        either way."""
        stack = prepare_stack(target, self.options.gatehouse_bin, self.pinning, self.options.gateway_cpu,
                              round_number)
        record = new_record(target, stack, round_number)
        self.current = stack
        try:
            measure_stack(record, stack, self.options, self.loads[target.load])
        except RUN_ERRORS as error:
            record["status"] = "failed"
            record["error"] = str(error) if isinstance(error, RunFailed) else f"{type(error).__name__}: {error}"
            log(f"{target.name}: FAILED: {record['error']}")
        finally:
            record["exit_codes"] = stack.stop()
            self.current = None
        return record

    def settings(self) -> dict[str, Any]:
        """The load settings as the report records them."""
        o = self.options
        return {
            "rows": [row.id for row in o.rows],
            "duration_s": o.duration,
            "warmup_s": o.warmup,
            "rounds": o.rounds,
            "loads": {name: {"threads": load.threads, "connections": load.connections}
                      for name, load in self.loads.items()},
            "request_timeout_s": o.request_timeout,
            "pinning": self.pinning.settings(),
            "gateway_cpu": o.gateway_cpu if self.pinning.enabled else None,
            "tool_call": TOOL_CALL,
            "note": o.note,
        }

    def stop(self) -> None:
        """Stop the stack running now, if any (after an interrupt)."""
        if self.current is not None:
            self.current.stop()
