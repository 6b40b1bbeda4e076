"""Figures derived from the runs: Gatehouse against each peer, and what auth costs each server."""

from __future__ import annotations

from typing import Any

from .runs import MODE_NAMES, SERVER_NAMES


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b to two decimals, or None when either is missing or b is 0."""
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


def successful_run(records: list[dict[str, Any]], server: str, mode: str, auth: bool = True) -> dict[str, Any] | None:
    """The record of the run of `server` in `mode` with `auth` that finished ("ok"), or None."""
    for record in records:
        if record["server"] == server and record["mode"] == mode and record["auth"] == auth and record["status"] == "ok":
            return record
    return None


def ratios(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gatehouse / peer for each protocol mode, both with auth, from this run."""
    out = []
    for mode in MODE_NAMES:
        ours = successful_run(records, "gatehouse", mode)
        for peer in ("fastmcp", "sdk"):
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
