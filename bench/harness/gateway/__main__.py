"""Entry point of `python -m harness.gateway`: measure, write the report, exit 0, 1 or 130.

Exit status 0 when every measurement (each round of each target) finished with only 2xx answers, 1 when one
failed or saw errors (the results are written either way), 130 when interrupted (SIGINT, SIGTERM or SIGHUP; the
running processes are stopped and nothing is written).
"""

from __future__ import annotations

import sys
from typing import Any

from ..entry import run_and_report
from ..rounds import measurements
from .benchmark import GatewayBenchmark
from .options import parse_options
from .report import write_report


def _clean(report: dict[str, Any]) -> bool:
    """Every measurement (each round of each target) finished with only 2xx answers."""
    return all(m["status"] == "ok" and m.get("clean", False) for m in measurements(report["targets"]))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, write its results and print the Markdown; returns the exit status."""
    options = parse_options(argv)
    return run_and_report(GatewayBenchmark(options), options.output, write_report, _clean)


if __name__ == "__main__":
    sys.exit(main())
