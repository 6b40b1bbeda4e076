"""Entry point of `python -m harness.stages`: profile, write the report, exit 0, 1 or 130."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

from ..console import log
from ..runs import RunFailed
from .options import parse_options
from .profiler import Profiler
from .report import write_report


def _interrupt(signum: int, _frame: Any) -> None:
    """Turn SIGTERM into KeyboardInterrupt, so everything is stopped as on Ctrl-C."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Profile, write the report and print its Markdown; returns the exit status."""
    options = parse_options(argv)
    profiler = Profiler(options)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        report = profiler.execute()
    except KeyboardInterrupt:
        log("interrupted; stopping")
        profiler.stop()
        return 130
    except (RunFailed, OSError, ValueError, KeyError, subprocess.SubprocessError) as error:
        log(f"FAILED: {error if isinstance(error, RunFailed) else f'{type(error).__name__}: {error}'}")
        profiler.stop()
        return 1
    json_path, md_path = write_report(report, options.output)
    print()
    print(md_path.read_text())
    log(f"wrote {json_path} and {md_path.name}")
    w = report["wrk"]
    return 0 if w["non2xx"] == 0 and w["rpc_errors"] == 0 and w["socket_errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
