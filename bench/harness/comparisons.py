"""Figures derived from the runs: Gatehouse against each peer and against the ceiling, and what auth costs.

A repeated run's record is its median round's (rounds.repeated_record), so everything here is from medians.
"""

from __future__ import annotations

from typing import Any

from .rounds import req_per_s_by_round, spread_percent
from .runs import CEILING, MODE_NAMES, PEERS, SERVER_NAMES

CEILING_GOAL_SHARE = 0.90
"""The project's goal: Gatehouse stateless with JWT serves at least this share of the ceiling's req/s..."""
CEILING_GOAL_AUTH_COST_PERCENT = 10.0
"""...and auth costs it at most this many percent of its auth-off req/s."""


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b to two decimals, or None when either is missing or b is 0."""
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


def successful_run(records: list[dict[str, Any]], server: str, mode: str, auth: bool = True,
                   token_sent: bool = False) -> dict[str, Any] | None:
    """The record of the run of `server` in `mode` with `auth` (and, with auth off, the token sent or not)
    that finished ("ok"), or None."""
    for record in records:
        if (record["server"] == server and record["mode"] == mode and record["auth"] == auth
                and record.get("token_sent", False) == token_sent and record["status"] == "ok"):
            return record
    return None


def percent_lost(rps: float | None, base: float | None) -> float | None:
    """(1 − rps / base) × 100 to 0.1: the share of `base`'s req/s that `rps` lacks; None when either is missing."""
    if rps is None or not base:
        return None
    return round((1 - rps / base) * 100, 1)


def ratios(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gatehouse / peer for each protocol mode, both with auth, from this run."""
    out = []
    for mode in MODE_NAMES:
        ours = successful_run(records, "gatehouse", mode)
        for peer in PEERS:
            theirs = successful_run(records, peer, mode)
            if ours is None or theirs is None:
                continue
            out.append(
                {
                    "mode": mode,
                    "peer": peer,
                    "req_per_s": ratio(ours["req_per_s"], theirs["req_per_s"]),
                    "p50": ratio(ours["latency_ms"]["p50"], theirs["latency_ms"]["p50"]),
                    "p99": ratio(ours["latency_ms"]["p99"], theirs["latency_ms"]["p99"]),
                    "cpu_ms_per_request": ratio(ours["server_cpu_ms_per_request"], theirs["server_cpu_ms_per_request"]),
                    "peak_rss": ratio(ours["peak_rss_mib"], theirs["peak_rss_mib"]),
                }
            )
    return out


def auth_cost(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each server run stateless both with and without auth: throughput, CPU and p50 latency auth adds."""
    out = []
    for server in SERVER_NAMES:
        on, off = successful_run(records, server, "stateless", True), successful_run(records, server, "stateless", False)
        if on is None or off is None:
            continue
        out.append(
            {
                "server": server,
                "mode": "stateless",
                "req_per_s_auth_on": on["req_per_s"],
                "req_per_s_auth_off": off["req_per_s"],
                "req_per_s_ratio_on_off": ratio(on["req_per_s"], off["req_per_s"]),
                "cpu_us_per_request_added": round(
                    (on["server_cpu_ms_per_request"] - off["server_cpu_ms_per_request"]) * 1000, 1
                ),
                "p50_ms_added": round(on["latency_ms"]["p50"] - off["latency_ms"]["p50"], 3),
            }
        )
    return out


def against_ceiling(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Gatehouse stateless (with JWT, with auth off, and with auth off while the token is sent) against the
    ceiling's req/s, Gatehouse's auth cost split into carrying the bearer header and verifying it, and every
    round's req/s of these runs with its spread. All from the medians of the rounds.

    None when the ceiling or every Gatehouse stateless run did not run (or failed). A share or a cost is
    None when a run it needs is missing, and `meets_goal` is None unless the ceiling, JWT and auth-off runs
    finished. The goal is judged on the total cost, 1 − JWT / auth off, and on the figures as reported
    (shares to 3 decimals, costs to 0.1 %), so the report never contradicts itself.
    """
    ceiling = successful_run(records, CEILING, "stateless", False)
    if ceiling is None:
        return None
    on = successful_run(records, "gatehouse", "stateless", True)
    off = successful_run(records, "gatehouse", "stateless", False)
    token = successful_run(records, "gatehouse", "stateless", False, token_sent=True)
    if on is None and off is None and token is None:
        return None
    on_rps = on["req_per_s"] if on else None
    off_rps = off["req_per_s"] if off else None
    token_rps = token["req_per_s"] if token else None
    ceiling_rps = ceiling["req_per_s"]

    def share(rps: float | None) -> float | None:
        return round(rps / ceiling_rps, 3) if rps is not None and ceiling_rps else None

    cost = percent_lost(on_rps, off_rps)
    auth_share = share(on_rps)
    meets = None
    if auth_share is not None and cost is not None:
        meets = auth_share >= CEILING_GOAL_SHARE and cost <= CEILING_GOAL_AUTH_COST_PERCENT
    return {
        "mode": "stateless",
        "ceiling_req_per_s": ceiling_rps,
        "gatehouse_auth_req_per_s": on_rps,
        "gatehouse_noauth_req_per_s": off_rps,
        "gatehouse_noauth_token_req_per_s": token_rps,
        "auth_over_ceiling": auth_share,
        "noauth_over_ceiling": share(off_rps),
        "noauth_token_over_ceiling": share(token_rps),
        "auth_cost_percent": cost,
        "header_cost_percent": percent_lost(token_rps, off_rps),
        "verify_cost_percent": percent_lost(on_rps, token_rps),
        "token_bytes": (on or token or {}).get("token_bytes"),
        "rounds": [_rounds(r) for r in records if r["server"] == CEILING or (r["server"] == "gatehouse"
                                                                            and r["mode"] == "stateless")],
        "goal": {"auth_over_ceiling_min": CEILING_GOAL_SHARE, "auth_cost_percent_max": CEILING_GOAL_AUTH_COST_PERCENT},
        "meets_goal": meets,
    }


def _rounds(record: dict[str, Any]) -> dict[str, Any]:
    """One run of the ceiling comparison: its req/s in every round (None for a failed one), which round is
    the median, and the spread (max / min − 1, in %)."""
    by_round = req_per_s_by_round(record)
    return {
        "name": record["name"],
        "label": record["label"],
        "req_per_s_by_round": by_round,
        "median_req_per_s": record["req_per_s"] if record["status"] == "ok" else None,
        "median_round": record.get("median_round"),
        "spread_percent": spread_percent(by_round),
    }
