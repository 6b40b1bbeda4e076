"""Entry point of `python -m harness.store`: measure, write the report, exit 0, 1 or 130.

Exit status 0 when every phase on every backend ran with only successful answers, 1 when one failed or saw errors
(the results are written either way), 130 when interrupted (SIGINT, SIGTERM or SIGHUP; the hub, the PostgreSQL
cluster and the sampler are stopped and nothing is written).
"""

from __future__ import annotations

import sys
from typing import Any

from ..entry import run_and_report
from .benchmark import PHASES, StoreBenchmark
from .options import parse_options
from .report import write_report


def _clean(report: dict[str, Any]) -> bool:
    """Every phase on every backend ran with only successful answers."""
    return all(
        record.get("status") == "ok"
        and all(record["phases"].get(phase, {}).get("clean", False) for phase in PHASES)
        for record in report["backends"].values()
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, write its results and print the Markdown; returns the exit status."""
    options = parse_options(argv)
    return run_and_report(StoreBenchmark(options), options.output, write_report, _clean)


if __name__ == "__main__":
    sys.exit(main())
