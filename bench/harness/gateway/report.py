"""The gateway benchmark's report as Markdown, and writing it with the JSON: settings, the latency and throughput
comparisons, the goals, the protocol the gateway spoke to each upstream, every round, and any problems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..markdown_report import BUSY_SHARE, fmt, problems
from ..rounds import measurements
from .comparisons import GOAL_ADDED_P50_MS


def write_report(report: dict[str, Any], output: Path) -> tuple[Path, Path]:
    """Write <output>.json and <output>.md; returns their paths."""
    output.parent.mkdir(parents=True, exist_ok=True)
    json_path, md_path = output.with_suffix(".json"), output.with_suffix(".md")
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    md_path.write_text(markdown(report))
    return json_path, md_path


def markdown(report: dict[str, Any]) -> str:
    """The whole Markdown document, ending with a newline."""
    by_load = {load: [c for c in report["comparisons"] if c["load"] == load] for load in ("latency", "throughput")}
    lines = _header(report)
    lines += _latency_table(by_load["latency"], report["settings"]["loads"]["latency"])
    lines += _throughput_table(by_load["throughput"], report["settings"]["loads"]["throughput"])
    lines += _era_spoken(report["comparisons"])
    lines += _goals(report["comparisons"])
    lines += _protocols(report["comparisons"])
    lines += _rounds(report["comparisons"], report["settings"]["rounds"])
    lines += problems(report["targets"])
    lines.append("")
    return "\n".join(lines)


def _header(report: dict[str, Any]) -> list[str]:
    """The title, what is compared, and date, machine, versions and load settings as a list."""
    m, v, s = report["machine"], report["versions"], report["settings"]
    pin = s["pinning"]
    lat, thr = s["loads"]["latency"], s["loads"]["throughput"]
    placement = (f"upstream pinned to CPU {pin['server_cpu']}, wrk to CPU {pin['wrk_cpu']}, the gateway to CPU "
                 f"{s['gateway_cpu']}" if pin else "no CPU pinning")
    lines = [
        "# Gatehouse gateway benchmark",
        "",
        "Each upstream called directly and through `gatehouse gateway --provider none` in front of it, in the same "
        "run: every target measured once per round, rounds interleaved, each measurement in fresh processes with "
        "its own warm-up; the figures are medians over the rounds. Ratios and differences are against the direct "
        "upstream of the same run; absolute figures depend on the machine.",
        "",
        f"- date: {report['date']}",
        f"- machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['memory_gib']} GiB, Linux {m['kernel']}; "
        f"load average before: {m['loadavg_before'].split(' ')[0] if m['loadavg_before'] else '?'}, "
        f"after: {m['loadavg_after'].split(' ')[0] if m['loadavg_after'] else '?'}",
    ]
    if s.get("note"):
        lines.append(f"- note: {s['note']}")
    lines += [
        f"- background: {_background(report['targets'])}",
        f"- Gatehouse {v['gatehouse']} ({v['gatehouse_build']} build, commit {v['gatehouse_commit']}); {v['swift']}",
        f"- FastMCP {v['fastmcp']}, mcp (Python SDK) {v['mcp']}, uvicorn {v['uvicorn']}, Python {v['python']}; "
        f"{v['wrk']}",
        f"- wrk: {s['duration_s']} s measured after {s['warmup_s']} s warm-up; latency load {lat['threads']} thread, "
        f"{lat['connections']} connection(s); throughput load {thr['threads']} threads, {thr['connections']} "
        f"connections; {placement}",
        f"- rounds: {s['rounds']}; rows: {', '.join(s['rows'])}",
        f"- every request: {s['tool_call']}",
        "",
    ]
    return lines


def _background(targets: list[dict[str, Any]]) -> str:
    """How much CPU time other processes took during the measured runs (the machine may have been shared)."""
    finished = [m for m in measurements(targets) if m["status"] == "ok"]
    if not finished:
        return "—"
    shares = sorted(m["background_cpu_s"] / m["duration_s"] for m in finished if m["duration_s"])
    busy = sum(1 for share in shares if share > BUSY_SHARE)
    return (f"other processes took a median {shares[(len(shares) - 1) // 2]:.2f} CPU-s per measured second "
            f"(max {shares[-1]:.2f}); {busy} of {len(finished)} measurements above {BUSY_SHARE:.2f}")


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _signed_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:+.3f}"


def _side(c: dict[str, Any], which: str, key: str) -> float | None:
    side = c[which]
    return None if side is None else side[key]


def _verdict(c: dict[str, Any]) -> str:
    goal = c.get("goal")
    if goal is None:
        return ""
    return "—" if goal["met"] is None else "yes" if goal["met"] else "**no**"


def _latency_table(comparisons: list[dict[str, Any]], load: dict[str, int]) -> list[str]:
    """Direct against through the gateway at the latency load: p50 and p99, what the gateway adds, its CPU."""
    lines = [
        f"## Added latency (wrk -t{load['threads']} -c{load['connections']})",
        "",
        "| upstream, client protocol | gateway → upstream | p50 direct ms | p50 via gateway ms | added p50 ms | "
        "p99 direct ms | p99 via gateway ms | added p99 ms | gateway CPU µs/req | "
        f"added p50 ≤ {GOAL_ADDED_P50_MS} ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for c in comparisons:
        lines.append(
            f"| {_row_name(c)} | {_toward(c)} | {_ms(_side(c, 'direct', 'p50_ms'))} | "
            f"{_ms(_side(c, 'gateway', 'p50_ms'))} | {_signed_ms(c['added_p50_ms'])} | "
            f"{_ms(_side(c, 'direct', 'p99_ms'))} | {_ms(_side(c, 'gateway', 'p99_ms'))} | "
            f"{_signed_ms(c['added_p99_ms'])} | {fmt(_side(c, 'gateway', 'gateway_cpu_us_per_request'), 1)} | "
            f"{_verdict(c)} |"
        )
    return lines + [""]


def _throughput_table(comparisons: list[dict[str, Any]], load: dict[str, int]) -> list[str]:
    """Direct against through the gateway at the standard load: req/s and the ratio, p50, CPU per request."""
    lines = [
        f"## Throughput (wrk -t{load['threads']} -c{load['connections']})",
        "",
        "| upstream, client protocol | gateway → upstream | req/s direct | req/s via gateway | via / direct | "
        "spread direct / via | p50 direct ms | p50 via gateway ms | upstream CPU µs/req direct / via | "
        "gateway CPU µs/req | within noise |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for c in comparisons:
        lines.append(
            f"| {_row_name(c)} | {_toward(c)} | {_rps(_side(c, 'direct', 'req_per_s'))} | "
            f"{_rps(_side(c, 'gateway', 'req_per_s'))} | {fmt(c['req_per_s_ratio'], 3)} | {_spreads(c)} | "
            f"{_ms(_side(c, 'direct', 'p50_ms'))} | {_ms(_side(c, 'gateway', 'p50_ms'))} | "
            f"{fmt(_side(c, 'direct', 'upstream_cpu_us_per_request'), 1)} / "
            f"{fmt(_side(c, 'gateway', 'upstream_cpu_us_per_request'), 1)} | "
            f"{fmt(_side(c, 'gateway', 'gateway_cpu_us_per_request'), 1)} | {_verdict(c)} |"
        )
    return lines + [
        "",
        "spread: max / min − 1 of a side's req/s over the rounds, the run-to-run noise; a ratio closer to 1 than "
        "the spread is not a measured difference. CPU µs/req: CPU time of the process tree over the measured "
        "seconds / requests (from /proc). \"within noise\" is judged in front of FastMCP only (the issue's goal: the "
        "client sees FastMCP's own throughput); in front of the hub, which does as little work per request as the "
        "gateway, the ratio is reported, not judged.",
        "",
    ]


def _row_name(c: dict[str, Any]) -> str:
    """"Gatehouse hub, 2025-11-25 session": the upstream and the client's protocol."""
    return f"{c['upstream']}, {c['client_protocol']}"


def _toward(c: dict[str, Any]) -> str:
    """What the gateway spoke to the upstream: "auto → stateless", "session (forced)"."""
    if c["upstream_protocol"] != "auto":
        return f"{c['upstream_protocol']} (forced)"
    return f"auto → {_side(c, 'gateway', 'upstream_era') or '?'}"


def _rps(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _spreads(c: dict[str, Any]) -> str:
    values = [_side(c, which, "req_per_s_spread_percent") for which in ("direct", "gateway")]
    return " / ".join("—" if v is None else f"{v:.1f} %" for v in values)


def _era_spoken(comparisons: list[dict[str, Any]]) -> list[str]:
    """Where the gateway spoke the upstream another protocol than the client did: the gateway side against the
    upstream called directly in that protocol (what the gateway costs) and in the client's (what the client sees)."""
    rows = [c for c in comparisons if "direct_in_era_spoken" in c]
    if not rows:
        return []
    lines = [
        "## Against the upstream in the protocol the gateway spoke",
        "",
        "A gateway on auto speaks 2026-07-28 to an upstream that offers it, also for a session client, so the "
        "upstream does its stateless work on every call. Against the upstream called directly in that protocol "
        "(same run), the difference is the gateway's own; against the client's protocol, it also holds what the "
        "protocol change costs the upstream.",
        "",
        "| upstream, client protocol | load | via gateway req/s | direct, client's protocol req/s | direct, protocol "
        "spoken req/s | via / direct (client's) | via / direct (spoken) | added p50 ms (client's) | added p50 ms "
        "(spoken) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in rows:
        lines.append(
            f"| {_row_name(c)} | {c['load']} | {_rps(c['gateway']['req_per_s'])} | {_rps(c['direct']['req_per_s'])} | "
            f"{_rps(c['direct_in_era_spoken']['req_per_s'])} | {fmt(c['req_per_s_ratio'], 3)} | "
            f"{fmt(c['req_per_s_ratio_vs_era_spoken'], 3)} | {_signed_ms(c['added_p50_ms'])} | "
            f"{_signed_ms(c['added_p50_ms_vs_era_spoken'])} |"
        )
    return lines + [""]


def _goals(comparisons: list[dict[str, Any]]) -> list[str]:
    """The issue's goals and whether this run meets each, on the medians."""
    lines = [
        "## Goals",
        "",
        f"From the issue: the gateway adds at most {GOAL_ADDED_P50_MS} ms to the p50, and in front of FastMCP the "
        "client sees FastMCP's own throughput within noise (the gateway is never the bottleneck). Judged on the "
        "medians as printed; not a gate (the exit status only says whether every request succeeded).",
        "",
    ]
    for c in comparisons:
        goal = c.get("goal")
        if goal is None:
            continue
        if c["load"] == "latency":
            figures = f"added p50 {_signed_ms(c['added_p50_ms'])} ms"
        else:
            noise = goal.get("noise_percent")
            figures = (f"via / direct {fmt(c['req_per_s_ratio'], 3)}, noise "
                       + ("— (one round)" if noise is None else f"{noise:.1f} % (ratio ≥ {1 - noise / 100:.3f})"))
        met = "cannot be judged" if goal["met"] is None else "met" if goal["met"] else "NOT met"
        lines.append(f"- {c['label']}, {c['load']}: {goal['goal']}: {met} ({figures})")
    return lines + [""]


def _protocols(comparisons: list[dict[str, Any]]) -> list[str]:
    """Which protocol versions each upstream offered (its server/discover) and which era the gateway spoke."""
    lines = ["## Protocol toward each upstream", ""]
    offered: dict[str, Any] = {}
    for c in comparisons:
        direct = c["direct"] or {}
        if "upstream_offers" in direct:
            offered.setdefault(c["upstream"], direct["upstream_offers"])
    for upstream, offers in offered.items():
        versions = offers.get("supported_versions")
        lines.append(
            f"- {upstream}: server/discover answered HTTP {offers['status']}"
            + (f", supportedVersions {', '.join(versions)}" if versions else ", no supportedVersions")
            + (" — it offers 2026-07-28, so a gateway on auto serves stateless clients statelessly and downstream "
               "sessions with upstream sessions" if offers.get("offers_stateless")
               else " — no 2026-07-28, so a gateway on auto opens sessions")
        )
    seen = set()
    for c in comparisons:
        if c["row"] in seen or c["gateway"] is None:
            continue
        seen.add(c["row"])
        lines.append(f"- {c['label']}: the gateway spoke {c['gateway']['upstream_era'] or '?'} to the upstream")
    return lines + [
        "",
        "A downstream 2025-11-25 session gets an upstream session of its own (initialize once, then every call on "
        "it), on auto as with \"protocol\": \"session\"; stateless clients share one stateless upstream channel.",
        "",
    ]


def _rounds(comparisons: list[dict[str, Any]], rounds: int) -> list[str]:
    """Every round's figures of both sides, so the noise behind each median shows."""
    if rounds < 2:
        return []
    lines = [
        "## Every round",
        "",
        "| upstream, client protocol | load | path | req/s by round | p50 ms by round | p99 ms by round |",
        "|---|---|---|---|---|---|",
    ]
    shown = set()
    for c in comparisons:
        for which in ("direct", "gateway"):
            side = c[which]
            if side is None or side["name"] in shown:  # rows of one upstream and protocol share the direct side
                continue
            shown.add(side["name"])
            path = "direct" if which == "direct" else f"via gateway → {_toward(c)}"
            lines.append(
                f"| {_row_name(c)} | {c['load']} | {path} | {_listed(side['req_per_s_by_round'], '{:.0f}')} | "
                f"{_listed(side['p50_ms_by_round'], '{:.3f}')} | {_listed(side['p99_ms_by_round'], '{:.3f}')} |"
            )
    return lines + [""]


def _listed(values: list[float | None], pattern: str) -> str:
    return " · ".join("failed" if v is None else pattern.format(v) for v in values)
