"""The report as Markdown: settings, the results table, the ratios, the cost of auth, Gatehouse against the
ceiling, and any problems."""

from __future__ import annotations

from typing import Any

from .rounds import measurements
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
    lines = _header(report) + _results_table(report["runs"], report["settings"].get("rounds", 1))
    if report["ratios"]:
        lines += _ratios_table(report["ratios"])
    if report["auth_cost"]:
        lines += _auth_cost(report["auth_cost"])
    if report.get("ceiling"):
        lines += _against_ceiling(report["ceiling"])
    lines += _how_each_ran(report["runs"]) + problems(report["runs"])
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
        f"- rounds: {_rounds_setting(report)}",
        f"- every request: {s['tool_call']}; {s['token']}",
        "",
    ]


def _rounds_setting(report: dict[str, Any]) -> str:
    """How the runs were measured: the ceiling comparison's runs in interleaved rounds, the others once."""
    rounds = report["settings"].get("rounds", 1)
    repeated = [r for r in report["runs"] if "rounds" in r]
    if not repeated:
        return "every run measured once"
    return (
        f"{'; '.join(_short_name(r) for r in repeated)}: measured {rounds} "
        f"{'time' if rounds == 1 else 'times'} each, interleaved (round 1: each once, then round 2, …), each "
        "measurement in a fresh server process with its own warm-up; their figures are from the round with the "
        "median req/s" + ("; the other runs measured once" if len(repeated) < len(report["runs"]) else "")
    )


def _short_name(r: dict[str, Any]) -> str:
    """A run of the ceiling comparison as the report names it in running text: "Gatehouse JWT", "the ceiling"."""
    if r["server"] == CEILING:
        return "the ceiling"
    auth = "JWT" if r["auth"] else "auth off, token sent" if r.get("token_sent") else "auth off"
    return f"{SERVER_NAMES[r['server']]} {auth}"


def _auth_cell(r: dict[str, Any]) -> str:
    """The auth column: none (the ceiling), JWT, off, or off with the token sent."""
    if r["server"] == CEILING:
        return "none"
    return "JWT" if r["auth"] else "off, token sent" if r.get("token_sent") else "off"


def _round_cell(r: dict[str, Any], rounds: int) -> str:
    """The round column: "2 of 3" for a repeated run's median round, empty for a run measured once."""
    if "rounds" not in r:
        return ""
    return "—" if r.get("median_round") is None else f"{r['median_round']} of {rounds}"


def _results_table(runs: list[dict[str, Any]], rounds: int) -> list[str]:
    """One row per run (a repeated run's median round); a failed run shows "failed" and empty cells, errors are
    flagged with ⚠."""
    lines = [
        "| server | protocol | auth | round | req/s | p50 ms | p99 ms | server CPU ms/req | peak RSS MiB | non-2xx | "
        "errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        server = SERVER_NAMES[r["server"]]
        protocol = CEILING_PROTOCOL_NAME if r["server"] == CEILING else MODE_NAMES[r["mode"]]
        auth, round_cell = _auth_cell(r), _round_cell(r, rounds)
        if r["status"] != "ok":
            lines.append(f"| {server} | {protocol} | {auth} | {round_cell} | failed | | | | | | |")
            continue
        errors = r["rpc_errors"] + r["socket_errors"]
        lines.append(
            f"| {server} | {protocol} | {auth} | {round_cell} | {r['req_per_s']:.0f} | {r['latency_ms']['p50']:.2f} | "
            f"{r['latency_ms']['p99']:.2f} | {r['server_cpu_ms_per_request']:.4f} | {r['peak_rss_mib']:.1f} | "
            f"{r['non2xx']}{' ⚠' if r['non2xx'] else ''} | {errors}{' ⚠' if errors else ''} |"
        )
    if any("rounds" in r for r in runs):
        lines += [
            "",
            f"round: the rows of the runs measured in {rounds} rounds are the round with the median req/s (for an "
            "even count the lower of the two middle ones); every round's req/s is under \"Against the ceiling\".",
        ]
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
    """Gatehouse stateless (JWT, auth off, auth off with the token sent) as shares of the ceiling, every round's
    req/s with the spread, the cost of auth split into carrying the header and verifying it, and the goal."""
    goal_share, goal_cost = c["goal"]["auth_over_ceiling_min"], c["goal"]["auth_cost_percent_max"]
    rows = [
        ("Hummingbird ceiling", "ceiling-stateless-noauth", c["ceiling_req_per_s"], 1.0),
        ("Gatehouse, JWT", "gatehouse-stateless", c["gatehouse_auth_req_per_s"], c["auth_over_ceiling"]),
        ("Gatehouse, auth off", "gatehouse-stateless-noauth", c["gatehouse_noauth_req_per_s"],
         c["noauth_over_ceiling"]),
        ("Gatehouse, auth off, token sent", "gatehouse-stateless-noauth-token",
         c.get("gatehouse_noauth_token_req_per_s"), c.get("noauth_token_over_ceiling")),
    ]
    rounds = {r["name"]: r for r in c.get("rounds", [])}
    lines = [
        "",
        "Against the ceiling (2026-07-28 stateless requests, same run; the ceiling is a bare Hummingbird route "
        "that decodes the same body with JSONDecoder and answers the sum, with no auth and no MCP checks; "
        "\"token sent\" is Gatehouse with auth off while wrk sends a JWT minted as for the JWT run, which it ignores):",
        "",
        "| run | req/s (median) | share of the ceiling | req/s in each round | spread |",
        "|---|---:|---:|---|---:|",
    ]
    for label, name, rps, share in rows:
        by_round = rounds.get(name, {})
        spread = by_round.get("spread_percent")
        lines.append(
            f"| {label} | {'—' if rps is None else f'{rps:.0f}'} | {fmt(share, 3)} | {_round_list(by_round)} | "
            f"{'—' if spread is None else f'{spread:.1f} %'} |"
        )
    lines += ["", _spread_note(c)]
    lines += ["", *_cost_of_auth(c)]
    lines += [
        "",
        "A share is the fraction of the ceiling's req/s that Gatehouse keeps with everything it adds on the same "
        "Hummingbird stack (MCP checks, argument validation, its middleware and, with JWT, the token check); the "
        f"project's goal is JWT ≥ {goal_share:.2f} of the ceiling with auth costing ≤ {goal_cost:.0f} % (the "
        "total above). " + _goal_verdict(c),
    ]
    return lines


def _round_list(by_round: dict[str, Any]) -> str:
    """Every round's req/s in order, "24971 · 25310 · 24602 (median 24971)"; "failed" for a failed round."""
    values = by_round.get("req_per_s_by_round") or []
    if not values:
        return "—"
    listed = " · ".join("failed" if v is None else f"{v:.0f}" for v in values)
    median = by_round.get("median_req_per_s")
    return listed + (f" (median {median:.0f})" if median is not None and len(values) > 1 else "")


def _spread_note(c: dict[str, Any]) -> str:
    """How to read the rounds: the spread is the run-to-run noise of this machine."""
    spreads = [r["spread_percent"] for r in c.get("rounds", []) if r.get("spread_percent") is not None]
    if not spreads:
        return "Each of these runs was measured once, so this run shows nothing of the noise between runs."
    return (
        "The rounds were measured interleaved (each run once per round), each in a fresh server process after its "
        "own warm-up; spread = max / min − 1 of a run's rounds, the run-to-run noise on this machine "
        f"(up to {max(spreads):.1f} % here). Every figure below is from the medians; a difference smaller than "
        "the spread is not a measured difference."
    )


def _cost_of_auth(c: dict[str, Any]) -> list[str]:
    """The total cost of auth and its two parts: carrying the bearer header, and verifying the token."""
    on, off, cost = c["gatehouse_auth_req_per_s"], c["gatehouse_noauth_req_per_s"], c["auth_cost_percent"]
    if cost is None:
        return ["Cost of auth in Gatehouse: — (needs both the JWT and the auth-off Gatehouse stateless runs)."]
    token = c.get("gatehouse_noauth_token_req_per_s")
    header, verify = c.get("header_cost_percent"), c.get("verify_cost_percent")
    size = f"the {c['token_bytes']}-byte token" if c.get("token_bytes") else "the token"
    lines = [
        f"Cost of auth in Gatehouse: 1 − {on:.0f} / {off:.0f} = {cost:.1f} % of its auth-off req/s, of which:",
        "",
        f"- carrying the bearer header ({size} sent, auth off, so only HTTP parsing and copies): "
        + _loss(token, off, header),
        "- verifying it (JWT against auth off with the same token sent): " + _loss(on, token, verify),
    ]
    if header is not None and verify is not None:
        lines += ["", "The parts multiply rather than add: 1 − total = (1 − carrying) × (1 − verifying)."]
    return lines


def _loss(rps: float | None, base: float | None, percent: float | None) -> str:
    """"1 − rps / base = percent %", or a dash when the token-sent run is missing."""
    if rps is None or base is None or percent is None:
        return "— (no finished token-sent run)"
    return f"1 − {rps:.0f} / {base:.0f} = {percent:.1f} %"


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
    return f"This run {'meets' if c['meets_goal'] else 'does not meet'} it, on the medians: {figures}."


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
        if r.get("token_sent") and probe:
            extra.append("a JWT on every request, ignored; no token probes: auth is off")
        lines.append(f"- {r['label']}: {note}" + (f" ({'; '.join(extra)})" if extra else ""))
    return lines


def problems(runs: list[dict[str, Any]]) -> list[str]:
    """Measurements (every round of a repeated run) disturbed by other processes, failed, or with errors;
    nothing when there are none."""
    every = measurements(runs)
    failed = [m for m in every if m["status"] != "ok"]
    unclean = [m for m in every if m["status"] == "ok" and not m.get("clean", True)]
    busy = [m for m in every if m["status"] == "ok" and m["background_cpu_s"] > BUSY_SHARE * m["duration_s"]]
    if not (failed or unclean or busy):
        return []
    lines = ["", "Problems:", ""]
    for m in busy:
        lines.append(
            f"- {_measurement_name(m)}: other processes used {m['background_cpu_s']:.2f} CPU-s during the "
            f"{m['duration_s']:.0f} s measurement (more than 5 %), so its figures may be low"
        )
    for m in failed:
        lines.append(f"- {_measurement_name(m)}: failed: {m['error']}")
    for m in unclean:
        bad = m.get("first_bad_response", {})
        lines.append(
            f"- {_measurement_name(m)}: {m['non2xx']} non-2xx, {m['rpc_errors']} JSON-RPC/tool errors, "
            f"{m['socket_errors']} socket errors in the measured run"
            + (f"; first: HTTP {bad.get('status')} {bad.get('body', '')[:200]!r}" if bad else "")
        )
    return lines


def _measurement_name(m: dict[str, Any]) -> str:
    """A measurement as the problems list names it: the run's label, and its round if it is one."""
    return m["label"] + (f" (round {m['round']})" if "round" in m else "")
