"""`python -m harness` (with bench/ on PYTHONPATH): run the benchmark, write the results, print the Markdown.

Exit status 0 when every measurement (each round of a repeated run) finished with only 2xx answers, 1 when
one failed or saw errors (the results are written either way), 130 when interrupted (SIGINT or SIGTERM;
nothing is written).
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from .benchmark import Benchmark
from .console import log
from .options import parse_options
from .rounds import measurements
from .results import write_results


def _interrupt(signum: int, _frame: Any) -> None:
    """Turn SIGTERM into KeyboardInterrupt, so the running server is stopped as on Ctrl-C."""
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    """Parse the options, run the benchmark and write its results; returns the exit status."""
    options = parse_options()
    bench = Benchmark(options)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        report = bench.execute()
    except KeyboardInterrupt:
        log("interrupted; stopping")
        bench.stop()
        return 130

    files = write_results(report, options.output)
    print()
    print(files.markdown.read_text())
    log(f"wrote {files.json}, {files.markdown.name}, {files.png.name}")
    bad = [m for m in measurements(report["runs"]) if m["status"] != "ok" or not m.get("clean", False)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
