"""What PostgreSQL did during each phase: its database counters (pg_stat_database) and what the hub's connections
were doing (pg_stat_activity, sampled every SAMPLE_INTERVAL_S by one psql on the client's CPU).

A sample lists every connection of the hub's role to the database but the sampler's own: its state and what it waits
for. "active/running" (no wait event) is a backend on the CPU or ready for it (PostgreSQL shares its core with the
hub: while the sampler's query runs nothing else does); "active" waiting on Lock is a lock wait (Lock:transactionid or Lock:tuple: a row another transaction holds
FOR UPDATE); IO:WALSync or LWLock:WALWrite is a commit waiting for its WAL flush; "idle in transaction" is a backend
inside a transaction waiting for the hub's next statement (the round trip between the hub and PostgreSQL); "idle" is
a pooled connection with nothing to do.

pg_stat_database is updated by each backend at most once a second while it works, and with what it still holds about
10 s after it goes idle, so a phase's counters can include up to a second's worth of the phase before.
"""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import IO, Any

from ..console import log
from .backends import PostgresCluster

SAMPLE_INTERVAL_S = 0.1

COUNTERS = ("xact_commit", "xact_rollback", "deadlocks", "tup_inserted", "tup_updated", "tup_deleted", "tup_fetched",
            "blks_read", "blks_hit", "temp_files")

SAMPLE_QUERY = (
    "SELECT 'sample', extract(epoch FROM clock_timestamp()), "
    "coalesce(string_agg(state || '/' || coalesce(wait_event_type || ':' || wait_event, 'running'), ','), '') "
    "FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = current_database() "
    "AND usename = current_user AND pid <> pg_backend_pid()"
)


def counters(cluster: PostgresCluster) -> dict[str, int]:
    """The database's pg_stat_database counters now."""
    line = cluster.sql(f"SELECT {', '.join(COUNTERS)} FROM pg_stat_database WHERE datname = current_database()")
    return dict(zip(COUNTERS, (int(value) for value in line.strip().split("|"))))


def counter_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in COUNTERS}


class WaitSampler:
    """One psql running `SAMPLE_QUERY` under \\watch for the whole PostgreSQL run; its lines go to `path`."""

    def __init__(self, cluster: PostgresCluster, path: Path) -> None:
        self.cluster = cluster
        self.path = path
        self.process: subprocess.Popen[str] | None = None
        self._out: IO[str] | None = None

    def start(self) -> None:
        self._out = open(self.path, "w")
        self.process = subprocess.Popen(
            self.cluster.client_prefix + ["psql", "-X", "-q", "-At", self.cluster.url],
            stdin=subprocess.PIPE, stdout=self._out, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        assert self.process.stdin is not None
        self.process.stdin.write(f"{SAMPLE_QUERY} \\watch {SAMPLE_INTERVAL_S}\n")
        self.process.stdin.close()

    def stop(self) -> None:
        """SIGINT ends \\watch; psql then reads the end of its input and exits."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._out is not None:
            self._out.close()
            self._out = None
        self.process = None

    def samples(self) -> list[tuple[float, list[str]]]:
        """Every sample: its time (epoch seconds) and each connection's "state/wait"."""
        found = []
        try:
            text = self.path.read_text(errors="replace")
        except OSError:
            return found
        for line in text.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[0] == "sample":
                try:
                    found.append((float(parts[1]), [p for p in parts[2].split(",") if p]))
                except ValueError:
                    continue
        if not found:
            log(f"postgres: no pg_stat_activity samples in {self.path}")
        return found


def summarise(samples: list[tuple[float, list[str]]], windows: list[list[float]]) -> dict[str, Any]:
    """The samples taken in the windows ([start, end) each, epoch seconds): how many, and the mean number of connections in each state/wait (idle
    ones apart), the busiest first; plus the share of samples in which at least one connection waited for a lock."""
    chosen = [connections for at, connections in samples if any(start <= at < end for start, end in windows)]
    if not chosen:
        return {"samples": 0}
    tally: Counter[str] = Counter()
    lock_samples = 0
    for connections in chosen:
        tally.update(connections)
        if any("/Lock:" in c for c in connections):
            lock_samples += 1
    n = len(chosen)
    return {
        "samples": n,
        "mean_connections": {state: round(count / n, 2) for state, count in tally.most_common()},
        "share_of_samples_with_a_lock_wait": round(lock_samples / n, 3),
    }
