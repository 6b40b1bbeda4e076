"""The profiler's command line: the checked options."""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..paths import REPO_ROOT, RESULTS_DIR
from ..runs import MODE_NAMES


@dataclass(frozen=True)
class Options:
    """The checked command-line options (see `python -m harness.stages --help`)."""

    gatehouse_bin: Path
    mode: str
    auth: bool
    duration: int
    warmup: int
    connections: int
    threads: int
    request_timeout: int
    startup_timeout: float
    frequency: int
    server_cpu: str
    wrk_cpu: str
    pin: bool
    output: Path
    debug: bool


def parse_options(argv: list[str] | None = None) -> Options:
    """Parse `argv` (default: sys.argv[1:]); exits with a usage error on bad values or missing tools."""
    parser = argparse.ArgumentParser(
        prog="python -m harness.stages",
        description="Stage profile of Gatehouse's hot path: perf samples of the server under wrk, by stage.",
    )
    parser.add_argument("--gatehouse-bin", type=Path, default=REPO_ROOT / ".build" / "release" / "gatehouse")
    parser.add_argument("--mode", choices=tuple(MODE_NAMES), default="stateless",
                        help="protocol of the requests (default stateless, 2026-07-28)")
    parser.add_argument("--no-auth", dest="auth", action="store_false", help="run the hub with auth off")
    parser.add_argument("--duration", type=int, default=10, help="profiled seconds (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds (default 3; 0 skips)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--request-timeout", type=int, default=5, help="wrk per-request timeout, s (default 5)")
    parser.add_argument("--startup-timeout", type=float, default=60.0, help="seconds the server may take to start")
    parser.add_argument("--frequency", type=int, default=999, help="perf samples per second (default 999)")
    parser.add_argument("--server-cpu", default="0", help="CPU list for the server (taskset -c; default 0)")
    parser.add_argument("--wrk-cpu", default="1", help="CPU list for wrk and perf (taskset -c; default 1)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin with taskset")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "profile-latest",
                        help="results path without suffix (default bench/results/profile-latest)")
    parser.add_argument("--debug", action="store_true",
                        help="print the symbols of unattributed samples, to tune the stage patterns")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.connections < 1 or args.threads < 1 or args.warmup < 0 or args.frequency < 1:
        parser.error("duration, connections, threads and frequency must be at least 1, warmup at least 0")
    if args.connections < args.threads:
        parser.error("wrk needs at least as many connections as threads")
    args.gatehouse_bin = args.gatehouse_bin.resolve()
    if not args.gatehouse_bin.is_file():
        parser.error(f"no gatehouse binary at {args.gatehouse_bin} (swift build -c release --product gatehouse)")
    for tool, package in (("wrk", "wrk"), ("perf", "linux-perf"), ("swift", "the Swift toolchain")):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not installed ({package})")
    return Options(**vars(args))
