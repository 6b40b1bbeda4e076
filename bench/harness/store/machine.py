"""Who else used the machine during a measured window: kernel threads (the file system's journal, the block layer,
workqueues) and any other process, read from /proc/*/stat before and after, apart from the processes measured."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from ..procstats import CLK_TCK, process_tree

KTHREADD = 2
"""The parent of every kernel thread."""


def process_ticks() -> dict[int, tuple[str, int, int]]:
    """Every process now: pid → (command name, parent pid, utime + stime in clock ticks)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.find("(") + 1 : stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2 :].split()
        found[int(entry)] = (name, int(fields[1]), int(fields[11]) + int(fields[12]))
    return found


def measured_pids(pids: list[int]) -> set[int]:
    """The measured processes: the trees of `pids` and of this process (the load: its threads, wrk, psql)."""
    ours: set[int] = set()
    for pid in pids + [os.getpid()]:
        ours.update(process_tree(pid))
    return ours


def other_work(before: dict[int, tuple[str, int, int]], after: dict[int, tuple[str, int, int]], ours: set[int]
               ) -> dict[str, Any]:
    """CPU seconds of kernel threads and of every other process between the two readings (a process that started in
    between counts whole; one that also ended in between is not seen)."""
    kernel = 0
    others: Counter[str] = Counter()
    for pid, (name, parent, ticks) in after.items():
        if pid in ours:
            continue
        was = before.get(pid)
        delta = ticks - was[2] if was is not None and was[0] == name else ticks
        if delta <= 0:
            continue
        if parent == KTHREADD or pid == KTHREADD:
            kernel += delta
        else:
            others[name] += delta
    return {"kernel_threads_s": kernel / CLK_TCK, "other_processes_s": {k: v / CLK_TCK for k, v in others.items()}}


def add_work(total: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """The sum of two `other_work` readings."""
    processes = Counter(total.get("other_processes_s", {}))
    processes.update(more["other_processes_s"])
    return {"kernel_threads_s": total.get("kernel_threads_s", 0.0) + more["kernel_threads_s"],
            "other_processes_s": dict(processes)}


def summary(work: dict[str, Any], wall: float) -> dict[str, Any]:
    """For the record: kernel threads and other processes in cores over `wall` seconds, the busiest others named."""
    processes = work.get("other_processes_s", {})
    busiest = sorted(processes.items(), key=lambda item: -item[1])[:5]
    return {
        "kernel_threads_cores": round(work.get("kernel_threads_s", 0.0) / wall, 3) if wall > 0 else None,
        "other_processes_cores": round(sum(processes.values()) / wall, 3) if wall > 0 else None,
        "busiest_other_processes_s": {name: round(seconds, 2) for name, seconds in busiest if seconds >= 0.01},
    }
