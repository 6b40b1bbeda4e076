"""Repeated measurements: the order of the interleaved rounds, and the one record a repeated run reports.

The runs of the ceiling comparison (`Run.in_ceiling_comparison`) are measured `rounds` times, round-robin:
round 1 measures each of them once, round 2 each again, and so on, so a slow spell of the machine hits
every run alike rather than one of them. Every other run is measured once, before the rounds. A repeated
run's record is its median round's (by req/s), with every round's record under "rounds".
"""

from __future__ import annotations

from typing import Any

from .runs import Run

Measurement = tuple[Run, int | None]
"""A run and its round (1-based), or None for a run measured once."""


def schedule(runs: list[Run], rounds: int) -> list[Measurement]:
    """The measurements in the order they are made: the runs measured once (in report order), then round 1
    of the ceiling comparison's runs, round 2, ... up to `rounds`."""
    once = [(run, None) for run in runs if not run.in_ceiling_comparison]
    repeated = [run for run in runs if run.in_ceiling_comparison]
    return once + [(run, number) for number in range(1, rounds + 1) for run in repeated]


def median_round(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The finished ("ok") round with the median req/s (the lower of the two middle ones for an even count,
    so it is always a round that was measured), or None when no round finished."""
    finished = sorted((r for r in records if r["status"] == "ok"), key=lambda r: r["req_per_s"])
    return finished[(len(finished) - 1) // 2] if finished else None


def repeated_record(records: list[dict[str, Any]]) -> dict[str, Any]:
    """A repeated run's record: its median round's fields (or, when every round failed, the first round's),
    "median_round" (its number, None when all failed) and "rounds", every round's record in order."""
    chosen = median_round(records)
    record = {k: v for k, v in (chosen or records[0]).items() if k != "round"}
    record["median_round"] = chosen["round"] if chosen else None
    record["rounds"] = records
    return record


def measurements(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every measurement behind the report's runs: each round of a repeated run, the record of any other."""
    return [m for r in runs for m in r.get("rounds", [r])]


def req_per_s_by_round(record: dict[str, Any]) -> list[float | None]:
    """A run's req/s in each round, in order (None for a failed round); its one figure if measured once."""
    return [m["req_per_s"] if m["status"] == "ok" else None for m in record.get("rounds", [record])]


def spread_percent(values: list[float | None]) -> float | None:
    """(max / min − 1) × 100 of the figures that exist, to 0.1; None with fewer than two of them."""
    present = [v for v in values if v is not None]
    if len(present) < 2 or min(present) <= 0:
        return None
    return round((max(present) / min(present) - 1) * 100, 1)
