"""Helpers shared by the probes: daemon threads, bounded floods, medians."""

from __future__ import annotations

import collections
import statistics
import threading
import time
from typing import Callable


def spawn(target: Callable, *args, name: str | None = None) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread


class Tally:
    """Thread-safe counters."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: collections.Counter = collections.Counter()

    def add(self, key, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n

    def snapshot(self) -> dict:
        with self.lock:
            return dict(self.counts)


def flood(worker: Callable[[], object], threads: int, seconds: float, join_cap: float) -> tuple[Tally, float]:
    """Runs `worker` in a loop from `threads` daemon threads for `seconds`. The worker returns a
    key to count (a status code, "timeout", ...). Waits at most `join_cap` more seconds for
    requests in flight. Returns the tally and the seconds until all threads stopped (or the cap)."""
    tally = Tally()
    stop_at = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < stop_at:
            tally.add(worker())

    started = time.monotonic()
    workers = [spawn(loop, name=f"flood-{i}") for i in range(threads)]
    deadline = stop_at + join_cap
    for thread in workers:
        thread.join(max(0.0, deadline - time.monotonic()))
    return tally, time.monotonic() - started


def classify(error: BaseException) -> str:
    name = type(error).__name__
    if "timeout" in name.lower() or "timed out" in str(error):
        return "timeout"
    return name


def median_ms(samples: list[float]) -> float | None:
    return round(statistics.median(samples) * 1000, 2) if samples else None


def p90_ms(samples: list[float]) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] * 1000, 2)
