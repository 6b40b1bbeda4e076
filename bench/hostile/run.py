#!/usr/bin/env python3
"""Hostile-traffic measurements of a `gatehouse hub` binary.

    python3 bench/hostile/run.py --binary PATH [--only NAME ...] [--json OUT] [--keep-temp]

Runs each probe (bench/hostile/probes/) against hubs started from PATH on 127.0.0.1, each hub in
its own temp working directory, prints a Markdown table (probe, measurement, value) and
optionally writes the results as JSON. Every probe has a hard time budget: when it overruns,
its hubs are killed (which unblocks its sockets) and it is reported as timed out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

sys.dont_write_bytecode = True  # leave no __pycache__ in the work tree
sys.path.insert(0, str(Path(__file__).resolve().parent))

import hub as hubs  # noqa: E402
from probes import PROBES  # noqa: E402


class Context:
    def __init__(self, binary: str, root: str, name: str) -> None:
        self.binary = binary
        self.root = root
        self.name = name
        self.started = time.monotonic()
        self.hubs: list[hubs.Hub] = []

    def hub(self, label: str, **kw) -> hubs.Hub:
        """A new (not yet started) hub owned by this probe."""
        created = hubs.Hub(self.binary, self.root, f"{self.name}-{label}", **kw)
        self.hubs.append(created)
        return created

    def log(self, message: str) -> None:
        print(f"  [{self.name} +{time.monotonic() - self.started:5.1f}s] {message}", file=sys.stderr, flush=True)


def run_probe(module, binary: str, root: str) -> dict:
    context = Context(binary, root, module.NAME)
    outcome: dict = {}

    def body() -> None:
        try:
            outcome["result"] = module.run(context)
        except BaseException as error:  # noqa: BLE001 - reported, never raised
            outcome["error"] = f"{type(error).__name__}: {error}"
            outcome["traceback"] = traceback.format_exc()

    started = time.monotonic()
    thread = threading.Thread(target=body, name=f"probe-{module.NAME}", daemon=True)
    thread.start()
    thread.join(module.BUDGET_S)
    timed_out = thread.is_alive()
    if timed_out:
        context.log(f"over its {module.BUDGET_S} s budget: killing its hubs")
        hubs.kill_all(context.hubs)
        thread.join(15)
    # Whatever happened, no hub of this probe outlives it.
    leftover = [h for h in context.hubs if h.alive()]
    hubs.kill_all(context.hubs)
    result = outcome.get("result") or {"measurements": {}, "verdict": ""}
    entry = {
        "probe": module.NAME,
        "description": module.DESCRIPTION,
        "seconds": round(time.monotonic() - started, 1),
        "measurements": result.get("measurements", {}),
        "verdict": result.get("verdict", ""),
    }
    if result.get("notes"):
        entry["notes"] = result["notes"]
    if timed_out:
        entry["error"] = f"probe exceeded its {module.BUDGET_S} s budget; its hubs were killed"
    elif "error" in outcome:
        entry["error"] = outcome["error"]
        entry["traceback"] = outcome["traceback"]
        context.log(outcome["traceback"])
    if leftover:
        entry["measurements"]["hubs killed at the end of the probe"] = len(leftover)
    if "error" in entry:
        partial = f" (partial: {entry['verdict']})" if entry["verdict"] else ""
        entry["verdict"] = f"NOT MEASURED / INCOMPLETE: {entry['error']}{partial}"
    for h in context.hubs:
        entry.setdefault("hub_logs", {})[h.name] = str(h.log_path)
    return entry


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(", ", ": "))
    return str(value).replace("|", "\\|")


def markdown(results: list[dict], binary: str, total: float) -> str:
    lines = [
        f"Hostile-traffic probes of `{binary}` ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
        f"total {total:.0f} s)",
        "",
        "| probe | measurement | value |",
        "|---|---|---|",
    ]
    for entry in results:
        for name, value in entry["measurements"].items():
            lines.append(f"| {entry['probe']} | {name} | {fmt(value)} |")
        lines.append(f"| {entry['probe']} | **verdict** ({entry['seconds']:.0f} s) | {fmt(entry['verdict'])} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="the gatehouse binary to measure")
    parser.add_argument("--only", nargs="+", action="extend", metavar="NAME",
                        help=f"run only these probes ({', '.join(m.NAME for m in PROBES)})")
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON to OUT")
    parser.add_argument("--keep-temp", action="store_true", help="keep the hubs' working directories and logs")
    options = parser.parse_args()

    binary = str(Path(options.binary).resolve())
    if not os.access(binary, os.X_OK):
        parser.error(f"not an executable: {binary}")
    selected = PROBES
    if options.only:
        known = {m.NAME: m for m in PROBES}
        unknown = [name for name in options.only if name not in known]
        if unknown:
            parser.error(f"unknown probe(s) {', '.join(unknown)}; known: {', '.join(known)}")
        selected = [m for m in PROBES if m.NAME in options.only]

    root = tempfile.mkdtemp(prefix="gatehouse-hostile-")
    started = time.monotonic()
    results = []
    try:
        for module in selected:
            print(f"probe {module.NAME} (budget {module.BUDGET_S} s) ...", file=sys.stderr, flush=True)
            entry = run_probe(module, binary, root)
            print(f"probe {module.NAME}: {entry['seconds']} s: {entry['verdict']}", file=sys.stderr, flush=True)
            results.append(entry)
    finally:
        hubs.kill_all()
        if not options.keep_temp:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept the hubs' directories under {root}", file=sys.stderr)
    total = time.monotonic() - started

    print(markdown(results, binary, total))
    if options.json:
        document = {
            "binary": binary,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "total_seconds": round(total, 1),
            "probes": results,
        }
        if not options.keep_temp:
            for entry in results:
                entry.pop("hub_logs", None)
        Path(options.json).write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # A probe thread that overran its budget may still be stuck in a socket call: never wait for it.
    os._exit(code)
