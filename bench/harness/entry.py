"""What the benchmarks' entry points share: run with SIGTERM and SIGHUP treated as Ctrl-C, write the
report, print its Markdown, and turn the outcome into the exit status (0 clean, 1 errors, 130 interrupted)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, Callable

from .console import log


def _interrupt(signum: int, _frame: Any) -> None:
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt, so what runs is stopped as on Ctrl-C."""
    raise KeyboardInterrupt(f"signal {signum}")


def run_and_report(
    bench: Any,
    output: Path,
    write_report: Callable[[dict[str, Any], Path], tuple[Path, Path]],
    is_clean: Callable[[dict[str, Any]], bool],
) -> int:
    """Runs `bench.execute()`, writes its report with `write_report` (JSON and Markdown paths), prints the
    Markdown; returns 0 when `is_clean(report)`, 1 when not, 130 when interrupted (then `bench.stop()`
    stops what runs and nothing is written)."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        report = bench.execute()
    except KeyboardInterrupt:
        log("interrupted; stopping")
        bench.stop()
        return 130
    json_path, md_path = write_report(report, output)
    print()
    print(md_path.read_text())
    log(f"wrote {json_path} and {md_path.name}")
    return 0 if is_clean(report) else 1
