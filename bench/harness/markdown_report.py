"""The report as Markdown: settings, the results table, the ratios, the cost of auth, Gatehouse against the
ceiling, and any problems."""

from __future__ import annotations

from typing import Any

from .runs import CEILING, CEILING_PROTOCOL_NAME, MODE_NAMES, PEERS, SERVER_NAMES

BUSY_SHARE = 0.05
"""Other processes' CPU time above this share of the measured seconds makes a run's figures suspect."""


def fmt(value: Any, digits: int = 2) -> str:
    """A table cell: "—" for None, floats to `digits` decimals, anything else as str()."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(report: dict[str, Any]) -> str:
    """The whole Markdown document, ending with a newline."""
    lines = _header(report) + _results_table(report["runs"])
    if report["ratios"]:
        lines += _ratios_table(report["ratios"])
    if report["auth_cost"]:
        lines += _auth_cost(report["auth_cost"])
    if report.get("ceiling"):
        lines += _against_ceiling(report["ceiling"])
    lines += _how_each_ran(report["runs"]) + _problems(report["runs"])
    lines.append("")
    return "\n".join(lines)


def _header(report: dict[str, Any]) -> list[str]:
    """The title, and date, machine, versions and wrk settings as a list."""
    m, v, s = report["machine"], report["versions"], report["settings"]
    pin = s["pinning"]
    return [
        "# Gatehouse HTTP benchmark",
        "",
        f"- date: {report['date']}",
        f"- machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['memory_gib']} GiB, Linux {m['kernel']}; "
        f"load average before: {m['loadavg_before'].split(' ')[0] if m['loadavg_before'] else '?'}",
        f"- Gatehouse {v['gatehouse']} ({v['gatehouse_build']} build, commit {v['gatehouse_commit']}); {v['swift']}"
        + (f"; ceiling: bench-ceiling on Hummingbird {v.get('hummingbird') or '?'}"
           if any(r["server"] == CEILING for r in report["runs"]) else ""),
        f"- FastMCP {v['fastmcp']}, mcp (Python SDK) {v['mcp']}, uvicorn {v['uvicorn']}, starlette {v['starlette']}, "
        f"PyJWT {v['PyJWT']}, Python {v['python']}; {v['wrk']}",
        f"- wrk: {s['duration_s']} s measured after {s['warmup_s']} s warm-up, {s['connections']} connections, "
        f"{s['threads']} threads; "
        + (f"server pinned to CPU {pin['server_cpu']}, wrk to CPU {pin['wrk_cpu']}" if pin else "no CPU pinning"),
        f"- every request: {s['tool_call']}; {s['token']}",
        "",
    ]


def _results_table(runs: list[dict[str, Any]]) -> list[str]:
    """One row per run; a failed run shows "failed" and empty cells, errors are flagged with ⚠."""
    lines = [
        "| server | protocol | auth | req/s | p50 ms | p99 ms | server CPU ms/req | peak RSS MiB | non-2xx | errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        server = SERVER_NAMES[r["server"]]
        ceiling = r["server"] == CEILING
        protocol = CEILING_PROTOCOL_NAME if ceiling else MODE_NAMES[r["mode"]]
        auth = "none" if ceiling else "JWT" if r["auth"] else "off"
        if r["status"] != "ok":
            lines.append(f"| {server} | {protocol} | {auth} | failed | | | | | | |")
            continue
        errors = r["rpc_errors"] + r["socket_errors"]
        lines.append(
            f"| {server} | {protocol} | {auth} | {r['req_per_s']:.0f} | {r['latency_ms']['p50']:.2f} | "
            f"{r['latency_ms']['p99']:.2f} | {r['server_cpu_ms_per_request']:.4f} | {r['peak_rss_mib']:.1f} | "
            f"{r['non2xx']}{' ⚠' if r['non2xx'] else ''} | {errors}{' ⚠' if errors else ''} |"
        )
    return lines


def _ratios_table(ratios: list[dict[str, Any]]) -> list[str]:
    """Gatehouse / peer per protocol, with a sentence on how to read it."""
    lines = [
        "",
        "Gatehouse / peer, same protocol, both with JWT auth, from this run (req/s above 1: Gatehouse serves more; "
        "latency, CPU and RSS below 1: Gatehouse uses less):",
        "",
        "| protocol | peer | req/s | p50 | p99 | CPU/req | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for q in ratios:
        lines.append(
            f"| {MODE_NAMES[q['mode']]} | {SERVER_NAMES[q['peer']]} | {fmt(q['req_per_s'])} | {fmt(q['p50'])} | "
            f"{fmt(q['p99'])} | {fmt(q['cpu_ms_per_request'])} | {fmt(q['peak_rss'])} |"
        )
    return lines


def _auth_cost(costs: list[dict[str, Any]]) -> list[str]:
    """One bullet per server run with and without auth."""
    lines = ["", "Cost of auth (2026-07-28 stateless, JWT on against auth off):", ""]
    for a in costs:
        lines.append(
            f"- {SERVER_NAMES[a['server']]}: {a['req_per_s_auth_on']:.0f} req/s with auth, "
            f"{a['req_per_s_auth_off']:.0f} without (×{fmt(a['req_per_s_ratio_on_off'])}); "
            f"{a['cpu_us_per_request_added']:+.1f} µs server CPU and {a['p50_ms_added']:+.3f} ms p50 per request"
        )
    return lines


def _against_ceiling(c: dict[str, Any]) -> list[str]:
    """Gatehouse stateless with and without auth as shares of the ceiling, its auth cost, and the project's goal."""
    goal_share, goal_cost = c["goal"]["auth_over_ceiling_min"], c["goal"]["auth_cost_percent_max"]
    rows = [
        ("Hummingbird ceiling", c["ceiling_req_per_s"], 1.0),
        ("Gatehouse, JWT", c["gatehouse_auth_req_per_s"], c["auth_over_ceiling"]),
        ("Gatehouse, auth off", c["gatehouse_noauth_req_per_s"], c["noauth_over_ceiling"]),
    ]
    lines = [
        "",
        "Against the ceiling (2026-07-28 stateless requests, same run; the ceiling is a bare Hummingbird route "
        "that decodes the same body with JSONDecoder and answers the sum, with no auth and no MCP checks):",
        "",
        "| run | req/s | share of the ceiling |",
        "|---|---:|---:|",
    ]
    for name, rps, share in rows:
        lines.append(f"| {name} | {'—' if rps is None else f'{rps:.0f}'} | {fmt(share, 3)} |")
    on, off, cost = c["gatehouse_auth_req_per_s"], c["gatehouse_noauth_req_per_s"], c["auth_cost_percent"]
    lines += [
        "",
        f"Cost of auth in Gatehouse: 1 − {on:.0f} / {off:.0f} = {cost:.1f} % of its auth-off req/s."
        if cost is not None
        else "Cost of auth in Gatehouse: — (needs both Gatehouse stateless runs).",
        "",
        "A share is the fraction of the ceiling's req/s that Gatehouse keeps with everything it adds on the same "
        "Hummingbird stack (MCP checks, argument validation, its middleware and, with JWT, the token check); the "
        f"project's goal is JWT ≥ {goal_share:.2f} of the ceiling with auth costing ≤ {goal_cost:.0f} %. "
        + _goal_verdict(c),
    ]
    return lines


def _goal_verdict(c: dict[str, Any]) -> str:
    """Whether this run meets the goal, with the figures that decide it."""
    if c["meets_goal"] is None:
        return "This run cannot be checked against it: a Gatehouse stateless run is missing or failed."
    goal_share, goal_cost = c["goal"]["auth_over_ceiling_min"], c["goal"]["auth_cost_percent_max"]
    share, cost = c["auth_over_ceiling"], c["auth_cost_percent"]
    figures = (
        f"JWT {share:.3f} of the ceiling ({'≥' if share >= goal_share else '<'} {goal_share:.2f}), "
        f"auth {cost:.1f} % ({'≤' if cost <= goal_cost else '>'} {goal_cost:.0f} %)"
    )
    return f"This run {'meets' if c['meets_goal'] else 'does not meet'} it: {figures}."


def _how_each_ran(runs: list[dict[str, Any]]) -> list[str]:
    """One bullet per run: its transport, content type and the statuses of the refused tokens."""
    lines = ["", "How each server ran:", ""]
    for r in runs:
        note = r.get("transport", {}).get("note", "")
        probe = r.get("probe", {})
        content_type = probe.get("content_type")
        extra = []
        if r["server"] in PEERS:
            t = r["transport"]
            extra.append(f"json_response={t['json_response']}, stateless_http={t['stateless_http']}")
        if content_type:
            extra.append(f"answers {content_type}")
        if probe.get("without_token_status"):
            extra.append(
                f"no token → {probe['without_token_status']}, wrong aud → {probe['wrong_audience_status']}, "
                f"wrong iss → {probe['wrong_issuer_status']}"
            )
        if r["server"] == CEILING and probe:
            extra.append("no token probes: it has no auth")
        lines.append(f"- {r['label']}: {note}" + (f" ({'; '.join(extra)})" if extra else ""))
    return lines


def _problems(runs: list[dict[str, Any]]) -> list[str]:
    """Runs disturbed by other processes, failed runs, and runs with errors; nothing when there are none."""
    failed = [r for r in runs if r["status"] != "ok"]
    unclean = [r for r in runs if r["status"] == "ok" and not r.get("clean", True)]
    busy = [r for r in runs if r["status"] == "ok" and r["background_cpu_s"] > BUSY_SHARE * r["duration_s"]]
    if not (failed or unclean or busy):
        return []
    lines = ["", "Problems:", ""]
    for r in busy:
        lines.append(
            f"- {r['label']}: other processes used {r['background_cpu_s']:.2f} CPU-s during the "
            f"{r['duration_s']:.0f} s measurement (more than 5 %), so its figures may be low"
        )
    for r in failed:
        lines.append(f"- {r['label']}: failed: {r['error']}")
    for r in unclean:
        bad = r.get("first_bad_response", {})
        lines.append(
            f"- {r['label']}: {r['non2xx']} non-2xx, {r['rpc_errors']} JSON-RPC/tool errors, "
            f"{r['socket_errors']} socket errors in the measured run"
            + (f"; first: HTTP {bad.get('status')} {bad.get('body', '')[:200]!r}" if bad else "")
        )
    return lines
