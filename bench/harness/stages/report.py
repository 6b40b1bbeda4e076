"""The report: the run's figures, the stage rows and top symbols, --debug output, Markdown and the files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .classify import OTHER, Tally, entity_text
from .perf import Frame

TOP_SYMBOLS = 15
SYMBOL_WIDTH = 100


@dataclass
class Measured:
    """What the profiled wrk run gave: wrk's result line, wall time and the server's CPU seconds."""

    result: dict[str, Any]
    wall_s: float
    server_cpu_s: float


def per_request_us(seconds: float, requests: int) -> float | None:
    return round(seconds * 1e6 / requests, 2) if requests else None


def wrk_figures(measured: Measured) -> dict[str, Any]:
    """wrk's requests, req/s, latency and error counts for the profiled run."""
    result = measured.result
    seconds = result["duration_us"] / 1e6
    return {
        "requests": result["requests"],
        "duration_s": round(seconds, 3),
        "req_per_s": round(result["requests"] / seconds, 1) if seconds > 0 else 0.0,
        "latency_ms": {k: round(v / 1000, 3) for k, v in result["latency_us"].items()},
        "non2xx": result["non2xx"],
        "rpc_errors": result["rpc_errors"],
        "socket_errors": sum(v for k, v in result["errors"].items() if k != "status"),
    }


def stage_rows(tally: Tally, measured: Measured) -> list[dict[str, Any]]:
    """Every stage with samples: its count, share of the server's samples and µs per request, by share."""
    requests = measured.result["requests"]
    rows = []
    for name, count in tally.by_stage.most_common():
        share = count / tally.total
        rows.append(
            {
                "stage": name,
                "samples": count,
                "share": round(share, 4),
                "us_per_request": per_request_us(share * measured.server_cpu_s, requests),
            }
        )
    return rows


def _short(name: str, width: int = SYMBOL_WIDTH) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def top_symbols(tally: Tally, short_names: dict[str, str], count: int = TOP_SYMBOLS) -> list[dict[str, Any]]:
    """The symbols with the most self time (samples with them as the leaf), demangled and shortened."""
    return [
        {
            "symbol": _short(short_names.get(frame.symbol, frame.symbol)),
            "library": frame.library,
            "samples": samples,
            "share": round(samples / tally.total, 4),
        }
        for frame, samples in tally.by_leaf.most_common(count)
    ]


def print_debug(tally: Tally, names: dict[str, str], count: int = 30) -> None:
    """For tuning the patterns: the frames that decided each stage, then the leaves and the frames of the
    samples no stage claimed."""
    for stage, _ in tally.by_stage.most_common():
        claims = [(frame, n) for (name, frame), n in tally.claims.most_common() if name == stage][:8]
        if claims:
            print(f"\n--- {stage}: {tally.by_stage[stage]} samples; the frames that decided them:")
        for frame, n in claims:
            _print_frame(n, frame, entity_text(names.get(frame.symbol, frame.symbol)))
    other = tally.by_stage[OTHER]
    print(f"\n--- unattributed: {other} of {tally.total} samples; their leaf symbols:")
    for frame, n in tally.other_leaves.most_common(count):
        _print_frame(n, frame, names.get(frame.symbol, frame.symbol))
    print("--- frames found anywhere in unattributed samples:")
    for frame, n in tally.other_frames.most_common(count):
        _print_frame(n, frame, entity_text(names.get(frame.symbol, frame.symbol)))
    print()


def _print_frame(samples: int, frame: Frame, text: str) -> None:
    print(f"{samples:7d}  {frame.library:24.24s}  {_short(text, 160)}")


CLASSIFICATION = (
    "A sample whose leaf frame is in the kernel counts as kernel. Otherwise its call chain is walked from the "
    "leaf towards the root and the sample goes to the stage of the first frame that matches a stage "
    "(so retain/release or malloc called by the JSON parser count as JSON parsing); a frame's demangled name "
    "is matched without its generic arguments, parameters and return type; a sample with no matching frame "
    "is other. Attribution is inclusive by the nearest stage frame, cpu-clock sampled, and inlining can move "
    "cost between stages."
)


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: what ran, the stage table and the top self-time symbols."""
    lines = _header(report) + ["", "| stage | share of server CPU samples | µs per request |", "|---|---:|---:|"]
    for row in report["stages"]:
        lines.append(f"| {row['stage']} | {row['share'] * 100:.1f} % | {_us(row['us_per_request'])} |")
    lines.append(f"| **total** | 100.0 % | {_us(report['server_cpu_us_per_request'])} |")
    lines += ["", f"Top {len(report['top_symbols'])} symbols by self time (the leaf frame of a sample):", "",
              "| symbol | library | share |", "|---|---|---:|"]
    for row in report["top_symbols"]:
        symbol = row["symbol"].replace("|", "\\|")
        lines.append(f"| `{symbol}` | {row['library']} | {row['share'] * 100:.1f} % |")
    lines += ["", "How samples are classified: " + report["classification"], ""]
    return "\n".join(lines)


def _us(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "–"


def _header(report: dict[str, Any]) -> list[str]:
    """The title, the machine and versions, the settings and the run's throughput and CPU figures."""
    m, v, s, w = report["machine"], report["versions"], report["settings"], report["wrk"]
    samples = report["samples"]
    pinning = s["pinning"]
    pinned = "unpinned"
    if pinning:
        pinned = f"server on CPU {pinning['server_cpu']}, wrk and perf on CPU {pinning['wrk_cpu']}"
    return [
        "# Where the time goes: Gatehouse stage profile",
        "",
        f"{report['date']}, {m['nproc']} × {m['cpu_model']}, {m['memory_gib']} GiB, Linux {m['kernel']}; "
        f"{v['gatehouse']} ({v['gatehouse_commit']}, {v['gatehouse_build']}), {v['swift']}, {v['perf']}.",
        "",
        f"{s['server']}: `{s['tool_call']}`, wrk {s['threads']} threads, {s['connections']} connections, "
        f"{s['duration_s']} s after a {s['warmup_s']} s warm-up; {pinned}; `{s['perf']}` "
        "(cpu-clock: a software timer, which needs no hardware counters).",
        "",
        f"During the profiled run: {w['req_per_s']:.0f} req/s ({w['requests']} requests, {w['non2xx']} non-2xx, "
        f"p50 {w['latency_ms']['p50']} ms). perf sampling with call chains slows the server, so this is not the "
        "benchmark's throughput (bench/http.sh). "
        f"Server CPU (from /proc): {report['server_cpu_s']:.2f} s, {_us(report['server_cpu_us_per_request'])} µs "
        f"per request. Samples: {samples['total']} at {samples['frequency_hz']} Hz "
        f"({samples['sampled_cpu_s']:.2f} s of CPU). µs per request = share × server CPU seconds / requests.",
    ]


def write_report(report: dict[str, Any], output: Path) -> tuple[Path, Path]:
    """Write <output>.json and <output>.md; returns their paths."""
    json_path, md_path = output.with_suffix(".json"), output.with_suffix(".md")
    output.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(markdown(report))
    return json_path, md_path
