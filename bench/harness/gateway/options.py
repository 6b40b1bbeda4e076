"""The gateway benchmark's command line: the checked options."""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..paths import REPO_ROOT, RESULTS_DIR
from .runs import DEFAULT_ROWS, ROWS, Row


@dataclass(frozen=True)
class Options:
    """The checked command-line options (see `python -m harness.gateway --help`)."""

    gatehouse_bin: Path
    rows: list[Row]
    duration: int
    warmup: int
    rounds: int
    connections: int
    threads: int
    latency_connections: int
    request_timeout: int
    startup_timeout: float
    server_cpu: str
    wrk_cpu: str
    gateway_cpu: str
    pin: bool
    note: str
    output: Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness.gateway",
        description="Gateway benchmark: each upstream called directly and through `gatehouse gateway`, same run, "
        "interleaved rounds; added p50/p99 latency at one connection and throughput at the standard load.",
    )
    parser.add_argument("--gatehouse-bin", type=Path, default=REPO_ROOT / ".build" / "release" / "gatehouse")
    parser.add_argument("--rows", default=",".join(DEFAULT_ROWS),
                        help=f"comma-separated rows (default {','.join(DEFAULT_ROWS)}; all: {','.join(ROWS)})")
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per measurement (default 3; 0 skips)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds, each target measured once per round in fresh processes, the "
                        "medians reported (default 3)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections of the throughput load (16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads of the throughput load (default 2)")
    parser.add_argument("--latency-connections", type=int, default=1,
                        help="wrk connections of the latency load, one thread (default 1)")
    parser.add_argument("--request-timeout", type=int, default=5, help="wrk per-request timeout, s (default 5)")
    parser.add_argument("--startup-timeout", type=float, default=60.0, help="seconds a process may take to start")
    parser.add_argument("--server-cpu", default="0", help="CPU list for the upstream (taskset -c; default 0)")
    parser.add_argument("--wrk-cpu", default="1", help="CPU list for wrk (taskset -c; default 1)")
    parser.add_argument("--gateway-cpu", default=None,
                        help="CPU list for the gateway (default: wrk's, so it never takes the upstream's core)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin with taskset")
    parser.add_argument("--note", default="", help="a sentence for the report's header (e.g. that the machine was "
                        "shared)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "gateway-latest",
                        help="results path without suffix (default bench/results/gateway-latest)")
    return parser


def parse_options(argv: list[str] | None = None) -> Options:
    """Parse `argv` (default: sys.argv[1:]); exits with a usage error on bad values or a missing wrk or binary."""
    parser = _parser()
    args = parser.parse_args(argv)
    ids = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in ids if r not in ROWS]
    if unknown or not ids:
        parser.error(f"unknown rows: {', '.join(unknown)} (known: {', '.join(ROWS)})" if unknown else "no rows")
    args.rows = [ROWS[r] for r in dict.fromkeys(ids)]
    if min(args.duration, args.connections, args.threads, args.rounds, args.latency_connections) < 1 \
            or args.warmup < 0:
        parser.error("duration, rounds, connections, threads and latency connections must be at least 1, "
                     "warmup at least 0")
    if args.connections < args.threads:
        parser.error("wrk needs at least as many connections as threads")
    if args.gateway_cpu is None:
        args.gateway_cpu = args.wrk_cpu
    args.gatehouse_bin = args.gatehouse_bin.resolve()
    if not args.gatehouse_bin.is_file():
        parser.error(f"no gatehouse binary at {args.gatehouse_bin} (swift build -c release --product gatehouse)")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install -y wrk)")
    return Options(**vars(args))
