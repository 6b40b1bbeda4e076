"""One profile: the issuer, the server under wrk and perf, and the report's figures."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

from ..console import log
from ..environment import command_output, machine_info, read_loadavg, versions
from ..issuer import LocalIssuer
from ..paths import TMP_DIR
from ..pinning import Pinning
from ..probes import open_session, probe
from ..procstats import cpu_seconds, process_tree
from ..runs import Run, RunFailed
from ..servers import ServerProcess, prepare_server, wait_ready
from ..wrk import Load, run_wrk
from .classify import KERNEL, Classifier, classify
from .options import Options
from .perf import PerfRecorder, profile_samples
from .report import CLASSIFICATION, Measured, per_request_us, print_debug, stage_rows, top_symbols, wrk_figures

PROFILE_ID_BASE = 10**12
"""JSON-RPC ids of the profiled run start here, far above any the warm-up used."""

PERF_SLEEP_MARGIN_S = 2
"""perf records this much longer than wrk runs, so the whole run is inside the recording."""


class Profiler:
    """The issuer, the server and perf for one profile; `stop` ends whichever is running."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.run = Run("gatehouse", options.mode, options.auth)
        self.issuer = LocalIssuer()
        self.pinning = Pinning.detect(options.pin, options.server_cpu, options.wrk_cpu)
        self.load = Load(options.threads, options.connections, options.request_timeout,
                         tuple(self.pinning.wrk_prefix()))
        self.server: ServerProcess | None = None
        self.perf: PerfRecorder | None = None
        self.data_path = TMP_DIR / f"{self.run.name}.perf.data"

    def execute(self) -> dict[str, Any]:
        """Start everything, profile the loaded server and return the report; stops everything either way."""
        TMP_DIR.mkdir(parents=True, exist_ok=True)
        started = dt.datetime.now(dt.timezone.utc)
        loadavg_before = read_loadavg()
        try:
            self.issuer.start()
            log(f"issuer at {self.issuer.issuer}; pinning: {self.pinning.describe()}")
            measured, probed = self._profile_server()
        finally:
            self.stop()
        log(f"reading {self.data_path.name}")
        samples, names, short_names = profile_samples(self.data_path)
        tally = classify(samples, Classifier(names))
        if tally.total == 0:
            raise RunFailed(f"perf recorded no samples of the server ({self.data_path})")
        if self.options.debug:
            print_debug(tally, names)
        if tally.by_stage[KERNEL] == 0:
            log("no kernel samples: perf recorded user space only (not root, perf_event_paranoid > 1?)")
        return {
            "profile": "gatehouse-stages",
            "date": started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine_info(loadavg_before),
            "versions": self._versions(),
            "settings": self._settings(),
            "run": {"name": self.run.name, "label": self.run.label, "argv": self._argv(), "probe": probed},
            "wrk": wrk_figures(measured),
            "server_cpu_s": round(measured.server_cpu_s, 3),
            "server_cpu_us_per_request": per_request_us(measured.server_cpu_s, measured.result["requests"]),
            "samples": {
                "total": tally.total,
                "frequency_hz": self.options.frequency,
                "sampled_cpu_s": round(tally.total / self.options.frequency, 3),
            },
            "stages": stage_rows(tally, measured),
            "top_symbols": top_symbols(tally, short_names),
            "classification": CLASSIFICATION,
        }

    def _profile_server(self) -> tuple[Measured, dict[str, Any]]:
        """Start and check the server, warm it up, and run wrk under perf; returns the figures and the probe."""
        options = self.options
        # The ceiling binary is not used for a Gatehouse run; prepare_server takes one all the same.
        server = prepare_server(self.run, self.issuer, options.gatehouse_bin, options.gatehouse_bin, self.pinning)
        self.server = server
        log(f"{self.run.name}: starting on port {server.port}")
        server.start()
        wait_ready(server, options.startup_timeout)
        pid = server_pid(server, options.gatehouse_bin)
        token = self.issuer.mint(server.mcp_url) if self.run.auth else None
        session = open_session(server, token) if self.run.mode == "session" else None
        probed = probe(server, self.issuer, token, session)
        if options.warmup > 0:
            log(f"{self.run.name}: warm-up {options.warmup} s")
            run_wrk(self.load, self.run, server.mcp_url, token, session, options.warmup, "profile-warmup", 0)
        self.perf = PerfRecorder(pid, options.frequency, options.duration + PERF_SLEEP_MARGIN_S, self.data_path,
                                 self.pinning.wrk_prefix())
        self.perf.start()
        log(f"{self.run.name}: profiling pid {pid} for {options.duration} s under wrk")
        measured = self._loaded(server, pid, token, session)
        self.perf.wait(PERF_SLEEP_MARGIN_S + 60)
        _check_alive(server, "during the profiled run")
        return measured, probed

    def _loaded(self, server: ServerProcess, pid: int, token: str | None, session: str | None) -> Measured:
        """The profiled wrk run, with the server's CPU time from /proc over it."""
        cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
        result = run_wrk(self.load, self.run, server.mcp_url, token, session, self.options.duration, "profile",
                         PROFILE_ID_BASE)
        return Measured(result, time.monotonic() - wall_before, cpu_seconds(pid) - cpu_before)

    def _argv(self) -> list[str]:
        return self.server.argv if self.server is not None else []

    def _versions(self) -> dict[str, Any]:
        found = {k: v for k, v in versions(self.options.gatehouse_bin).items()
                 if k in ("gatehouse", "gatehouse_commit", "gatehouse_build", "swift", "hummingbird", "wrk")}
        found["perf"] = command_output(["perf", "--version"])
        return found

    def _settings(self) -> dict[str, Any]:
        o = self.options
        return {
            "server": self.run.label,
            "duration_s": o.duration,
            "warmup_s": o.warmup,
            "connections": o.connections,
            "threads": o.threads,
            "pinning": self.pinning.settings(),
            "perf": f"perf record -e cpu-clock -F {o.frequency} -g -p <server pid> -- sleep "
            f"{o.duration + PERF_SLEEP_MARGIN_S}",
            "tool_call": "tools/call add {a: N, b: 1}, a unique JSON-RPC id per request",
        }

    def stop(self) -> None:
        """Stop perf, the server (its process group) and the issuer, whichever run; safe to call twice."""
        if self.perf is not None:
            self.perf.stop()
        if self.server is not None:
            self.server.stop()
        self.issuer.stop()


def server_pid(server: ServerProcess, gatehouse_bin: Path) -> int:
    """The pid of the running gatehouse binary: the Popen pid (taskset execs it), checked via /proc/PID/exe."""
    assert server.process is not None
    for pid in process_tree(server.process.pid):
        try:
            if Path(os.readlink(f"/proc/{pid}/exe")).resolve() == gatehouse_bin:
                if pid != server.process.pid:
                    log(f"the server runs as pid {pid}, a child of {server.process.pid}")
                return pid
        except OSError:
            continue
    raise RunFailed(f"no process of {server.process.pid}'s tree runs {gatehouse_bin}")


def _check_alive(server: ServerProcess, when: str) -> None:
    assert server.process is not None
    if server.process.poll() is not None:
        raise RunFailed(f"exited with code {server.process.returncode} {when}: {server.log_tail()}")
