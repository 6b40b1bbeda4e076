"""PostgreSQL against SQLite, metric by metric: each backend's figure from this run and the ratio PostgreSQL / SQLite.

For a rate a ratio below 1 means PostgreSQL did less per second; for a latency or a CPU time per operation a ratio
above 1 means PostgreSQL took longer.
"""

from __future__ import annotations

from typing import Any

RATE_KEYS = {"logins": "per_s", "refresh": "per_s", "whoami": "req_per_s", "notes_add": "req_per_s",
             "notes_list": "req_per_s"}
"""Where each phase keeps its rate: the OAuth workers' figures or wrk's."""

PHASE_LABELS = {
    "logins": ("logins/s", "login"),
    "refresh": ("refresh rotations/s", "rotation"),
    "whoami": ("whoami calls/s", "whoami"),
    "notes_add": ("notes_add calls/s", "notes_add"),
    "notes_list": ("notes_list calls/s", "notes_list"),
}
"""Each phase's rate label and the word its latency rows use."""


def _get(record: dict[str, Any] | None, phase: str, path: str) -> float | None:
    if record is None:
        return None
    value: Any = record.get("phases", {}).get(phase)
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value if isinstance(value, (int, float)) else None


def server_cpu_per_op(record: dict[str, Any] | None, phase: str) -> float | None:
    """The hub's CPU per operation plus PostgreSQL's (when it ran): the server side's whole cost."""
    hub = _get(record, phase, "hub_cpu_us_per_op")
    if hub is None:
        return None
    return round(hub + (_get(record, phase, "postgres_cpu_us_per_op") or 0.0), 1)


def comparisons(backends: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per metric: phase, metric, label, kind (rate, latency, cpu), the SQLite and PostgreSQL figures and
    the ratio PostgreSQL / SQLite (None when either is missing or SQLite's is 0)."""
    sqlite, postgres = backends.get("sqlite"), backends.get("postgres")
    rows = []
    for phase, rate_key in RATE_KEYS.items():
        rate_label, word = PHASE_LABELS[phase]
        metrics = [(rate_key, rate_label, "rate")]
        metrics += [(f"latency_ms.{p}", f"{word} latency {p} (ms)", "latency") for p in ("p50", "p90", "p99")]
        for path, label, kind in metrics:
            rows.append(_row(phase, path, label, kind, _get(sqlite, phase, path), _get(postgres, phase, path)))
        rows.append(_row(phase, "server_cpu_us_per_op", f"{word}: server CPU per operation (µs, hub + PostgreSQL)",
                         "cpu", server_cpu_per_op(sqlite, phase), server_cpu_per_op(postgres, phase)))
    return rows


def _row(phase: str, metric: str, label: str, kind: str, sqlite: float | None, postgres: float | None
         ) -> dict[str, Any]:
    ratio = round(postgres / sqlite, 3) if sqlite and postgres is not None else None
    return {"phase": phase, "metric": metric, "label": label, "kind": kind, "sqlite": sqlite, "postgres": postgres,
            "ratio": ratio}
