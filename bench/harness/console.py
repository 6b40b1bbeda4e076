"""Progress lines on stdout, each stamped with the time of day."""

from __future__ import annotations

import time


def log(message: str) -> None:
    """Print one progress line, flushed at once so it keeps its place among other output."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)
