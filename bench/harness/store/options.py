"""The store benchmark's command line: the checked options."""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..paths import REPO_ROOT, RESULTS_DIR

BACKENDS = ("sqlite", "postgres")
"""The stores, in the order they are measured."""


@dataclass(frozen=True)
class Options:
    """The checked command-line options (see `python -m harness.store --help`)."""

    gatehouse_bin: Path
    backends: list[str]
    workers: int
    login_duration: int
    refresh_duration: int
    tool_duration: int
    warmup: int
    connections: int
    notes_round: int
    request_timeout: int
    startup_timeout: float
    server_cpu: str
    client_cpu: str
    pin: bool
    postgres_durability: str
    pool_size: int | None
    note: str
    output: Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness.store",
        description="Store benchmark: logins/s, refresh rotations/s and tool-call latency of the hub on SQLite and on "
        "PostgreSQL, same run, same binary, same settings; the report gives PostgreSQL / SQLite.",
    )
    parser.add_argument("--gatehouse-bin", type=Path, default=REPO_ROOT / ".build" / "release" / "gatehouse")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help=f"comma-separated stores to measure, in this order (default {','.join(BACKENDS)})")
    parser.add_argument("--workers", type=int, default=8, help="concurrent login and refresh workers (default 8)")
    parser.add_argument("--login-duration", type=int, default=15, help="measured seconds of logins (default 15)")
    parser.add_argument("--refresh-duration", type=int, default=10,
                        help="measured seconds of refresh rotations (default 10)")
    parser.add_argument("--tool-duration", type=int, default=8,
                        help="measured seconds of each tool-call phase: whoami, notes_add, notes_list (default 8)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds before each phase (default 2; 0 skips)")
    parser.add_argument("--connections", type=int, default=4,
                        help="concurrent clients (wrk connections, one thread) of the tool-call phases (default 4)")
    parser.add_argument("--notes-round", type=int, default=2,
                        help="notes_add is measured in rounds of this many seconds, each from an empty notebook (its "
                        "quota is 10000 notes); --tool-duration in all (default 2)")
    parser.add_argument("--request-timeout", type=int, default=5, help="per-request timeout, s (default 5)")
    parser.add_argument("--startup-timeout", type=float, default=60.0, help="seconds a hub may take to start")
    parser.add_argument("--server-cpu", default="0",
                        help="CPU list for the hub and PostgreSQL (taskset -c; default 0)")
    parser.add_argument("--client-cpu", default="1",
                        help="CPU list for the load: the Python workers, wrk and psql (taskset -c; default 1)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin with taskset")
    parser.add_argument("--postgres-durability", choices=("durable", "throwaway"), default="durable",
                        help="durable (default): fsync, synchronous_commit and full_page_writes on, as the SQLite "
                        "store commits (WAL, synchronous=FULL); throwaway: scripts/postgres.sh's settings (all off)")
    parser.add_argument("--pool-size", type=int, default=None,
                        help="GATEHOUSE_DATABASE_POOL_SIZE for the PostgreSQL hub (default: the hub's, 10)")
    parser.add_argument("--note", default="", help="a sentence for the report's header")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "store-latest",
                        help="results path without suffix (default bench/results/store-latest)")
    return parser


def parse_options(argv: list[str] | None = None) -> Options:
    """Parse `argv` (default: sys.argv[1:]); exits with a usage error on bad values or a missing wrk or binary."""
    parser = _parser()
    args = parser.parse_args(argv)
    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in names if b not in BACKENDS]
    if unknown or not names:
        parser.error(f"unknown backends: {', '.join(unknown)} (known: {', '.join(BACKENDS)})" if unknown
                     else "no backends")
    args.backends = list(dict.fromkeys(names))
    if min(args.workers, args.login_duration, args.refresh_duration, args.tool_duration, args.connections,
           args.request_timeout, args.notes_round) < 1 or args.warmup < 0:
        parser.error("workers, durations, connections, the notes round and the request timeout must be at least 1, "
                     "warmup at least 0")
    if args.pool_size is not None and not 1 <= args.pool_size <= 500:
        parser.error("--pool-size must be from 1 to 500")
    args.gatehouse_bin = args.gatehouse_bin.resolve()
    if not args.gatehouse_bin.is_file():
        parser.error(f"no gatehouse binary at {args.gatehouse_bin} (swift build -c release --product gatehouse)")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install -y wrk)")
    return Options(**vars(args))
