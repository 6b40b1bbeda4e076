"""Figures derived from the measurements: each row's direct and gateway targets side by side under each load
(medians over the rounds), what the gateway adds, and the issue's goals.

A figure's median is over the rounds that finished, taken figure by figure (the p50 median and the p99 median
may come from different rounds); for an even count it is the lower of the two middle values, so it is always a
measured value, as in the main harness.
"""

from __future__ import annotations

from typing import Any, Callable

from ..rounds import spread_percent
from ..runs import MODE_NAMES
from .runs import LOADS, UPSTREAM_LABELS, Row, Target

GOAL_ADDED_P50_MS = 0.3
"""The issue's goal: the gateway adds at most this much to the p50 latency (measured at one connection)."""

GOAL_THROUGHPUT_UPSTREAMS = ("fastmcp",)
"""Upstreams in front of which the client must see the upstream's own throughput, within noise: the gateway is
never the bottleneck. (In front of the hub, which does as little work per request as the gateway, it is reported
and not judged.)"""


def lower_median(values: list[float]) -> float | None:
    """The median of `values`, the lower middle one for an even count; None when empty."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2] if ordered else None


def _finished(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The rounds of a target's record that finished ("ok")."""
    return [m for m in record.get("rounds", [record]) if m["status"] == "ok"]


def _by_round(record: dict[str, Any], get: Callable[[dict[str, Any]], float | None]) -> list[float | None]:
    """A figure in every round, in order (None for a failed round)."""
    return [get(m) if m["status"] == "ok" else None for m in record.get("rounds", [record])]


FIGURES: dict[str, Callable[[dict[str, Any]], float | None]] = {
    "req_per_s": lambda m: m["req_per_s"],
    "p50_ms": lambda m: m["latency_ms"]["p50"],
    "p99_ms": lambda m: m["latency_ms"]["p99"],
    "upstream_cpu_us_per_request": lambda m: _us(m["server_cpu_ms_per_request"]),
    "gateway_cpu_us_per_request": lambda m: _us(m.get("gateway_cpu_ms_per_request")),
}
"""The figures compared, each read from one round's record."""


def _us(ms: float | None) -> float | None:
    return None if ms is None else round(ms * 1000, 1)


def side(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """One side of a comparison (a target's measurements): each figure's median and its value in every round, the
    spread of req/s over the rounds, and (through the gateway) the era it spoke to the upstream."""
    if record is None or not _finished(record):
        return None
    out: dict[str, Any] = {"name": record["name"], "rounds_finished": len(_finished(record))}
    for key, get in FIGURES.items():
        values = _by_round(record, get)
        out[key] = lower_median([v for v in values if v is not None])
        out[f"{key}_by_round"] = values
    out["req_per_s_spread_percent"] = spread_percent(out["req_per_s_by_round"])
    eras = {m.get("upstream_era", {}).get("era") for m in _finished(record)} - {None}
    out["upstream_era"] = ", ".join(sorted(eras)) if eras else None
    offers = [m["upstream_offers"] for m in _finished(record) if "upstream_offers" in m]
    if offers:
        out["upstream_offers"] = offers[0]
    return out


def compare(row: Row, load: str, records: dict[Target, dict[str, Any]]) -> dict[str, Any]:
    """The row under `load`: both sides, the added p50 and p99 (gateway median − direct median, ms), the req/s
    ratio gateway / direct, the gateway's CPU per request, and the goal that applies to it (None if none does,
    or if a side is missing)."""
    direct, gateway = side(records.get(row.target(False, load))), side(records.get(row.target(True, load)))
    out: dict[str, Any] = {"row": row.id, "label": row.label, "upstream": UPSTREAM_LABELS[row.upstream],
                           "client_protocol": MODE_NAMES[row.mode], "upstream_protocol": row.upstream_protocol,
                           "load": load, "direct": direct, "gateway": gateway}
    if direct is None or gateway is None:
        out.update({"added_p50_ms": None, "added_p99_ms": None, "req_per_s_ratio": None, "goal": None})
        return out
    out["added_p50_ms"] = _difference(gateway["p50_ms"], direct["p50_ms"])
    out["added_p99_ms"] = _difference(gateway["p99_ms"], direct["p99_ms"])
    out["added_p50_ms_by_round"] = [_difference(g, d) for g, d in zip(gateway["p50_ms_by_round"],
                                                                      direct["p50_ms_by_round"])]
    out["req_per_s_ratio"] = _ratio(gateway["req_per_s"], direct["req_per_s"])
    out.update(_against_era_spoken(row, load, gateway, records))
    out["goal"] = _goal(row, load, out)
    return out


def _against_era_spoken(row: Row, load: str, gateway: dict[str, Any],
                        records: dict[Target, dict[str, Any]]) -> dict[str, Any]:
    """When the gateway spoke the upstream another protocol than the client spoke to the gateway (a session client,
    a stateless upstream), the gateway side against the upstream called directly in that protocol, if this run
    measured it: this separates what the gateway costs from what the protocol it chose costs the upstream."""
    era = gateway["upstream_era"]
    if era not in ("stateless", "session") or era == row.mode:
        return {}
    same = side(records.get(Target(row.upstream, era, None, load)))
    if same is None:
        return {}
    return {
        "direct_in_era_spoken": same,
        "added_p50_ms_vs_era_spoken": _difference(gateway["p50_ms"], same["p50_ms"]),
        "req_per_s_ratio_vs_era_spoken": _ratio(gateway["req_per_s"], same["req_per_s"]),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 3)


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)


def _goal(row: Row, load: str, c: dict[str, Any]) -> dict[str, Any] | None:
    """The issue's goal for this comparison, judged on the figures as reported: at one connection, added p50 ≤
    0.3 ms; at the standard load in front of FastMCP, gateway req/s ≥ direct req/s × (1 − noise), the noise being
    the larger req/s spread of the two sides over the rounds (None with a single round: no noise to judge by)."""
    if load == "latency":
        added = c["added_p50_ms"]
        return {"goal": f"added p50 ≤ {GOAL_ADDED_P50_MS} ms", "met": added <= GOAL_ADDED_P50_MS}
    if row.upstream not in GOAL_THROUGHPUT_UPSTREAMS:
        return None
    spreads = [s for s in (c["direct"]["req_per_s_spread_percent"], c["gateway"]["req_per_s_spread_percent"])
               if s is not None]
    goal = "gateway req/s within noise of direct (ratio ≥ 1 − the larger spread)"
    if not spreads:
        return {"goal": goal, "met": None, "noise_percent": None}
    noise = max(spreads)
    return {"goal": goal, "met": c["req_per_s_ratio"] >= round(1 - noise / 100, 3), "noise_percent": noise}


def comparisons(rows: list[Row], records: dict[Target, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row under every load, latency first."""
    return [compare(row, load, records) for load in LOADS for row in rows]
