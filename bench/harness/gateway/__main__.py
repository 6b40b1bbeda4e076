"""Entry point of `python -m harness.gateway`: measure, write the report, exit 0, 1 or 130.

Exit status 0 when every measurement (each round of each target) finished with only 2xx answers, 1 when one
failed or saw errors (the results are written either way), 130 when interrupted (SIGINT, SIGTERM or SIGHUP; the
running processes are stopped and nothing is written).
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from ..console import log
from ..rounds import measurements
from .benchmark import GatewayBenchmark
from .options import parse_options
from .report import write_report


def _interrupt(signum: int, _frame: Any) -> None:
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt, so the running processes are stopped as on Ctrl-C."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, write its results and print the Markdown; returns the exit status."""
    options = parse_options(argv)
    bench = GatewayBenchmark(options)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        report = bench.execute()
    except KeyboardInterrupt:
        log("interrupted; stopping")
        bench.stop()
        return 130
    json_path, md_path = write_report(report, options.output)
    print()
    print(md_path.read_text())
    log(f"wrote {json_path} and {md_path.name}")
    bad = [m for m in measurements(report["targets"]) if m["status"] != "ok" or not m.get("clean", False)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
