"""Entry point of `python -m harness.store`: measure, write the report, exit 0, 1 or 130.

Exit status 0 when every phase on every backend ran with only successful answers, 1 when one failed or saw errors
(the results are written either way), 130 when interrupted (SIGINT, SIGTERM or SIGHUP; the hub, the PostgreSQL
cluster and the sampler are stopped and nothing is written).
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from ..console import log
from .benchmark import PHASES, StoreBenchmark
from .options import parse_options
from .report import write_report


def _interrupt(signum: int, _frame: Any) -> None:
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt, so what runs is stopped as on Ctrl-C."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, write its results and print the Markdown; returns the exit status."""
    options = parse_options(argv)
    bench = StoreBenchmark(options)
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
    clean = all(
        record.get("status") == "ok"
        and all(record["phases"].get(phase, {}).get("clean", False) for phase in PHASES)
        for record in report["backends"].values()
    )
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
