"""The command line: parse and check the options into an Options value."""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

from .paths import REPO_ROOT, RESULTS_DIR
from .runs import CEILING, SERVER_NAMES

DESCRIPTION = (
    "Authenticated HTTP benchmark: Gatehouse against FastMCP, the official Python MCP SDK server and a bare "
    "Hummingbird endpoint (the ceiling)."
)


@dataclass(frozen=True)
class Options:
    """The checked command-line options (see `python -m harness --help`)."""

    gatehouse_bin: Path
    ceiling_bin: Path
    duration: int
    warmup: int
    rounds: int
    connections: int
    threads: int
    request_timeout: int
    startup_timeout: float
    server_cpu: str
    wrk_cpu: str
    pin: bool
    servers: list[str]
    noauth_peers: bool
    output: Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description=DESCRIPTION)
    parser.add_argument("--gatehouse-bin", type=Path, default=REPO_ROOT / ".build" / "release" / "gatehouse")
    parser.add_argument("--ceiling-bin", type=Path, default=REPO_ROOT / ".build" / "release" / "bench-ceiling",
                        help="the bare Hummingbird endpoint (swift build -c release --product bench-ceiling)")
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per server (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per server (default 3; 0 skips)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the ceiling comparison's runs (Gatehouse stateless: JWT, auth off, auth off "
                        "with the token sent; the ceiling), measured interleaved, each with the full warm-up and "
                        "duration, the median reported (default 3; the other runs are measured once)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--request-timeout", type=int, default=5, help="wrk per-request timeout, s (default 5)")
    parser.add_argument("--startup-timeout", type=float, default=60.0, help="seconds a server may take to start")
    parser.add_argument("--server-cpu", default="0", help="CPU list for the server (taskset -c; default 0)")
    parser.add_argument("--wrk-cpu", default="1", help="CPU list for wrk (taskset -c; default 1)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin with taskset")
    parser.add_argument("--servers", default=",".join(SERVER_NAMES),
                        help=f"comma-separated subset to run (default {','.join(SERVER_NAMES)})")
    parser.add_argument("--noauth-peers", action="store_true", help="also run FastMCP and the SDK with auth off")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "http-latest", help="results path without suffix")
    return parser


def parse_options(argv: list[str] | None = None) -> Options:
    """Parse `argv` (default: sys.argv[1:]); exits with a usage error on bad values or a missing wrk or binary."""
    parser = _parser()
    args = parser.parse_args(argv)
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(args.servers) - set(SERVER_NAMES)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    if args.duration < 1 or args.connections < 1 or args.threads < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("duration, rounds, connections and threads must be at least 1, warmup at least 0")
    if args.connections < args.threads:
        parser.error("wrk needs at least as many connections as threads")
    args.gatehouse_bin = args.gatehouse_bin.resolve()
    if "gatehouse" in args.servers and not args.gatehouse_bin.is_file():
        parser.error(f"no gatehouse binary at {args.gatehouse_bin} (swift build -c release --product gatehouse)")
    args.ceiling_bin = args.ceiling_bin.resolve()
    if CEILING in args.servers and not args.ceiling_bin.is_file():
        others = ",".join(s for s in SERVER_NAMES if s != CEILING and s in args.servers)
        parser.error(
            f"no bench-ceiling binary at {args.ceiling_bin} (swift build -c release --product bench-ceiling"
            + (f", or leave the ceiling out: --servers {others})" if others else ")")
        )
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install -y wrk)")
    return Options(**vars(args))
