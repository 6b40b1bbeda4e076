"""The report as a PNG: requests/s, p99 latency and server CPU per request, one bar per run (a repeated run's
bar is its median round, as in the Markdown table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

SERVER_COLOURS = {"gatehouse": "#2f6db5", "fastmcp": "#e08a2c", "sdk": "#4e9a55", "ceiling": "#7a7a7a"}
NO_AUTH_ALPHA = 0.45
"""Runs with auth off are drawn paler (not the ceiling, which has no auth to turn off)."""
TOKEN_SENT_HATCH = "///"
"""The run with auth off that sends the token all the same is hatched as well."""


def chart(report: dict[str, Any], path: Path) -> None:
    """Draw the three panels side by side into `path` (nothing when there are no runs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = report["runs"]
    if not runs:
        return
    labels = [r["label"].replace(", ", "\n", 1) for r in runs]
    y = list(range(len(runs)))[::-1]

    def values(get: Callable[[dict[str, Any]], float | None]) -> list[float | None]:
        return [get(r) if r["status"] == "ok" else None for r in runs]

    panels = [
        ("requests/s (higher is better)", values(lambda r: r["req_per_s"]), "{:.0f}"),
        ("p99 latency, ms (lower is better)", values(lambda r: r["latency_ms"]["p99"]), "{:.1f}"),
        ("server CPU ms per request (lower is better)", values(lambda r: r["server_cpu_ms_per_request"]), "{:.3f}"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(16, 1.0 + 0.62 * len(runs)), sharey=True)
    for ax, (title, panel, pattern) in zip(axes, panels):
        bars = ax.barh(y, [v or 0 for v in panel], color=[SERVER_COLOURS[r["server"]] for r in runs], edgecolor="white")
        for bar, r in zip(bars, runs):
            if not r["auth"] and r["server"] != "ceiling":
                bar.set_alpha(NO_AUTH_ALPHA)
            if r.get("token_sent"):
                bar.set_hatch(TOKEN_SENT_HATCH)
        ax.set_title(title, fontsize=10)
        top = max((v for v in panel if v is not None), default=1) or 1
        ax.set_xlim(0, top * 1.22)
        for yy, value in zip(y, panel):
            text = "failed" if value is None else pattern.format(value)
            ax.text((value or 0) + top * 0.01, yy, text, va="center", fontsize=8,
                    color="#b00020" if value is None else "black")
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(labels, fontsize=8)
    s, m = report["settings"], report["machine"]
    ceiling = " and a bare Hummingbird ceiling" if any(r["server"] == "ceiling" for r in runs) else ""
    rounds = s.get("rounds", 1)
    medians = (f"\nGatehouse 2026-07-28 stateless and the ceiling: the round with the median req/s of {rounds} "
               "interleaved rounds (every round in the Markdown and the JSON)"
               if rounds > 1 and any("rounds" in r for r in runs) else "")
    fig.suptitle(
        f"Gatehouse vs FastMCP {report['versions']['fastmcp']} vs Python SDK {report['versions']['mcp']}{ceiling}: "
        f"tools/call add with RS256 JWT auth — wrk {s['duration_s']} s, {s['connections']} connections, "
        f"server on 1 core — {report['date'][:10]}, {m['nproc']}× {m['cpu_model']}{medians}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
