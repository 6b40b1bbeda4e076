"""The store benchmark's report: <output>.json (everything measured) and <output>.md (the tables)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .comparisons import server_cpu_per_op

BACKEND_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
PHASE_ORDER = ("logins", "refresh", "whoami", "notes_add", "notes_list")
DISTURBED_CORES = 0.1
"""CPU of other processes (in cores) above which a phase is listed as disturbed."""
DISTURBED_UNATTRIBUTED_CORES = 0.25
"""Busy time no process accounts for (in cores) above which a phase is listed as disturbed: on a quiet machine it stays
near 0 (softirqs are mostly charged to the process they run in), while a build's short-lived compilers land here."""


def write_report(report: dict[str, Any], output: Path) -> tuple[Path, Path]:
    """Write the JSON and the Markdown; returns their paths."""
    output.parent.mkdir(parents=True, exist_ok=True)
    json_path, md_path = output.with_suffix(".json"), output.with_suffix(".md")
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    md_path.write_text(markdown(report, json_path.name))
    return json_path, md_path


def _num(value: float | None, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "rate":
        return f"{value:,.0f}".replace(",", " ")
    if kind == "cpu":
        return f"{value:,.0f}".replace(",", " ")
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def markdown(report: dict[str, Any], json_name: str = "store-latest.json") -> str:
    settings, machine, versions = report["settings"], report["machine"], report["versions"]
    backends = report["backends"]
    lines = [
        "# Store benchmark: the hub on SQLite and on PostgreSQL",
        "",
        f"Run {report['date']} (to {report['finished']}) with `{report['command']}`.",
        "",
        f"Machine: {machine['nproc']} CPUs ({machine['cpu_model']}), {machine['memory_gib']} GiB, Linux "
        f"{machine['kernel']}; load average before {machine['loadavg_before'] or '?'}, after "
        f"{machine['loadavg_after'] or '?'}. Gatehouse {versions.get('gatehouse') or '?'} "
        f"({versions.get('gatehouse_build')} build of {versions.get('gatehouse_binary_built') or '?'}; the "
        f"checkout was at {versions.get('gatehouse_commit') or '?'} when it ran), "
        + (f"PostgreSQL {backends['postgres']['postgres'].get('version', '?')}, "
           if "postgres" in backends and "postgres" in backends["postgres"] else "")
        + f"SQLite {versions.get('sqlite') or '?'}, {versions.get('wrk') or 'wrk ?'}, Python "
        f"{versions.get('python')}.",
        "",
    ]
    if settings.get("note"):
        lines += [f"Note: {settings['note']}", ""]
    lines += _settings_paragraph(report)
    lines += ["", "## PostgreSQL against SQLite", "",
              "Rates are per second over the measured window; latencies are what the client saw (the Python "
              "workers for logins and rotations, wrk for tool calls). The ratio is PostgreSQL / SQLite: below 1 "
              "for a rate, or above 1 for a latency or CPU time, means PostgreSQL is slower.", "",
              "| metric | SQLite | PostgreSQL | PostgreSQL / SQLite |", "|---|---:|---:|---:|"]
    for row in report["comparisons"]:
        if row["kind"] == "cpu":
            continue
        lines.append(f"| {row['label']} | {_num(row['sqlite'], row['kind'])} | {_num(row['postgres'], row['kind'])} "
                     f"| {_ratio(row['ratio'])} |")
    whoami = next((row for row in report["comparisons"] if row["phase"] == "whoami" and row["kind"] == "rate"), None)
    if whoami is not None and whoami["ratio"] is not None:
        cpu = [backends[b]["phases"].get("whoami", {}).get("hub_cpu_us_per_op") for b in ("sqlite", "postgres")]
        lines += ["", f"whoami reads nothing from the store once the caller is cached, so its ratio "
                  f"({whoami['ratio']:.2f}) is not the cost of the store: it is how far two hubs doing the same work "
                  "differ in this run"
                  + (f" (the hub's CPU per call: {cpu[0]:.0f} µs on SQLite, {cpu[1]:.0f} µs on PostgreSQL)"
                     if None not in cpu else "") + "."]
    lines += ["", "## Where the server's CPU goes", "",
              "CPU time per operation of the hub and of PostgreSQL (all its processes), from /proc over the measured "
              "window, and how busy the server's core (hub + PostgreSQL) and the load's core were. A server core "
              "well below 1.00 with an idle load core means the operations wait (for a lock, a flush, a round trip) "
              "rather than compute, or that something else took the core. The machine's other work, in cores: "
              "\"kernel threads\" (the file system's journal and the block layer flushing what fsync asks for, "
              "workqueues), \"other processes\" (anything not measured: a build, say), and \"unattributed\" "
              "(interrupts and softirqs such as loopback TCP charged to no process, and processes that started and "
              "ended within the window, such as PostgreSQL's autovacuum workers).", "",
              "| phase | backend | hub µs/op | PostgreSQL µs/op | total µs/op | server core busy | load core busy | "
              "kernel threads | other processes | unattributed |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for phase in PHASE_ORDER:
        for backend, record in backends.items():
            entry = record.get("phases", {}).get(phase)
            if not entry or "hub_cpu_us_per_op" not in entry:
                continue
            load_busy = entry.get("client_cpu_utilisation")
            if load_busy is None and entry.get("wrk_cpu_s") is not None and entry.get("duration_s"):
                load_busy = round(entry["wrk_cpu_s"] / entry["duration_s"], 3)
            lines.append(
                f"| {phase} | {BACKEND_NAMES[backend]} | {_num(entry['hub_cpu_us_per_op'], 'cpu')} | "
                f"{_num(entry.get('postgres_cpu_us_per_op'), 'cpu')} | "
                f"{_num(server_cpu_per_op(record, phase), 'cpu')} | {_share(entry.get('server_core_utilisation'))} | "
                f"{_share(load_busy)} | {_share(entry.get('kernel_threads_cores'))} | "
                f"{_share(entry.get('other_processes_cores'))} | {_share(_unattributed(entry))} |")
    lines += ["", "## Errors, 503s and lock waits", ""]
    lines += _problems(backends)
    if "postgres" in backends:
        lines += ["", "### What PostgreSQL's connections were doing", ""]
        lines += _activity(backends["postgres"])
    lines += ["", "## Files", "",
              f"Everything measured: `{json_name}`, next to this file. Hub logs, wrk output, "
              "the pg_stat_activity samples and a copy of postgres.log: `results/tmp/store/`.", ""]
    return "\n".join(lines)


def _unattributed(entry: dict[str, Any]) -> float | None:
    total, kernel, other = (entry.get(k) for k in ("background_cores", "kernel_threads_cores", "other_processes_cores"))
    if total is None or kernel is None or other is None:
        return None
    return max(0.0, total - kernel - other)


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _settings_paragraph(report: dict[str, Any]) -> list[str]:
    s = report["settings"]
    pinning = s.get("pinning")
    pg = report["backends"].get("postgres", {}).get("postgres", {})
    pg_settings = pg.get("settings", {})
    durable = s["postgres_durability"] == "durable"
    text = [
        "Settings: " + s["hub"] + "; one hub per backend, fresh store, same binary. "
        + (f"The hub and PostgreSQL on CPU {pinning['server_cpu']}, the load (login workers, wrk, psql) on CPU "
           f"{pinning['client_cpu']} (taskset). " if pinning else "No CPU pinning. ")
        + f"Logins and rotations: {s['workers']} worker threads, each with its own registered client and keep-alive "
        f"connection, {s['login_duration_s']} s of logins then {s['refresh_duration_s']} s of rotations. Tool calls: "
        f"one login's access token, wrk with 1 thread and {s['tool_connections']} connections, 2026-07-28 stateless "
        f"`tools/call`, {s['tool_duration_s']} s per tool (latency merged over the rounds where there are several). A "
        f"warm-up of {s['warmup_s']} s before every phase. notes_add runs in rounds of {s['notes_round_s']} s, each "
        "from an empty notebook (remove_tool then add_tool notes with max_notes 10000, between rounds, not timed): "
        "the quota is 10000 notes, which SQLite fills in about 3 s here, and every addition counts the notebook, so "
        "a longer round would make the faster store pay for its own speed. notes_list then lists the newest 20 of "
        "what the last round added. Every login is the same user (dev@localhost, --dev-auto-approve), so concurrent "
        "notes_add calls take the same user row's lock.",
        "",
        "Durability: the SQLite store commits in WAL mode with synchronous=FULL (SQLite's default, which the store "
        "keeps): every commit waits for an fsync of the WAL. "
        + ("PostgreSQL is made to match (`--postgres-durability durable`: fsync, synchronous_commit and "
           "full_page_writes on, set with ALTER SYSTEM on scripts/postgres.sh's throwaway cluster, which turns them "
           "off). " if durable else
           "PostgreSQL runs with scripts/postgres.sh's throwaway settings (`--postgres-durability throwaway`: fsync, "
           "synchronous_commit and full_page_writes off): its commits wait for no flush, so the comparison favours "
           "it. ")
        + (f"PostgreSQL settings: {', '.join(f'{k}={v}' for k, v in sorted(pg_settings.items()))}; hub pool size "
           f"{pg.get('pool_size')}. " if pg_settings else "")
        + "Both stores' files are on the same file system (under /tmp).",
    ]
    return text


def _problems(backends: dict[str, Any]) -> list[str]:
    lines = ["| backend | phase | completed | errors (by kind) | first error |", "|---|---|---:|---|---|"]
    notes = []
    for backend, record in backends.items():
        name = BACKEND_NAMES[backend]
        if record.get("status") != "ok":
            notes.append(f"- **{name} failed**: {record.get('error')}")
        for phase in PHASE_ORDER:
            entry = record.get("phases", {}).get(phase)
            if not entry:
                continue
            if "errors" in entry:
                completed = entry.get("completed")
                errors = ", ".join(f"{k}: {v}" for k, v in entry["errors"].items()) or "none"
                first = "; ".join(f"{k}: {v[:120]}" for k, v in entry.get("first_error", {}).items())
            else:
                completed = entry.get("requests")
                parts = [f"non-2xx: {entry.get('non2xx')}" if entry.get("non2xx") else "",
                         f"JSON-RPC or tool errors: {entry.get('rpc_errors')}" if entry.get("rpc_errors") else "",
                         f"socket errors: {entry.get('socket_errors')}" if entry.get("socket_errors") else ""]
                errors = ", ".join(p for p in parts if p) or "none"
                bad = entry.get("first_bad_response")
                first = f"HTTP {bad['status']}: {bad['body'][:120]}" if bad else ""
            warm = entry.get("warmup", {})
            warm_bad = sum(v for v in warm.get("errors", {}).values()) + warm.get("non2xx", 0) + \
                warm.get("rpc_errors", 0)
            if warm_bad:
                errors += f" (warm-up: {warm_bad})"
            lines.append(f"| {name} | {phase} | {_num(completed, 'rate')} | {errors} | {_cell(first)} |")
        hub_log = record.get("hub_log", {})
        count = hub_log.get("count", 0)
        notes.append(f"- {name} hub log: {count} line(s) at warning or above"
                     + (": " + "; ".join(f"`{_cell(line[:200])}`" for line in hub_log.get("first", [])[:3])
                        if count else "") + ".")
        pg_log = record.get("postgres", {}).get("log")
        if pg_log:
            notes.append(
                f"- postgres.log: {pg_log.get('lock_waits_over_deadlock_timeout', 0)} lock wait(s) longer than "
                f"deadlock_timeout (log_lock_waits on), {pg_log.get('deadlocks', 0)} deadlock(s), "
                f"{pg_log.get('errors', 0)} ERROR/FATAL line(s)"
                + (": " + "; ".join(f"`{_cell(line[:200])}`" for line in pg_log.get("first", [])[:3])
                   if pg_log.get("first") else "") + ".")
    notes.append("- A 503 (the store unavailable or over its deadline) would show above as `HTTP 503`; on wrk's "
                 "side as non-2xx with the first body.")
    disturbed = []
    for backend, record in backends.items():
        for phase, entry in record.get("phases", {}).items():
            other, unattributed = entry.get("other_processes_cores") or 0.0, _unattributed(entry) or 0.0
            if other > DISTURBED_CORES or unattributed > DISTURBED_UNATTRIBUTED_CORES:
                named = ", ".join(f"{name} {seconds} s"
                                  for name, seconds in entry.get("busiest_other_processes_s", {}).items())
                disturbed.append(f"{BACKEND_NAMES[backend]} {phase} (other processes {other:.2f}, unattributed "
                                 f"{unattributed:.2f}" + (f"; {named}" if named else "") + ")")
    if disturbed:
        notes.append(f"- **Disturbed**: other processes took more than {DISTURBED_CORES} of a core, or work no "
                     f"process accounts for (processes that came and went: a build's compilers, say) more than "
                     f"{DISTURBED_UNATTRIBUTED_CORES}, during " + "; ".join(disturbed) + ". On a 2-core machine that "
                     "takes time from the hub or from the load: run again on a quiet machine.")
    else:
        notes.append(f"- Not disturbed: no other process took more than {DISTURBED_CORES} of a core, and no more "
                     f"than {DISTURBED_UNATTRIBUTED_CORES} went unattributed, during any phase (the kernel's own "
                     "threads are in the CPU table).")
    return lines + [""] + notes


def _per_op(count: int | None, entry: dict[str, Any]) -> str:
    operations = entry.get("completed", entry.get("requests"))
    return "–" if count is None or not operations else f"{count / operations:.1f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _activity(record: dict[str, Any]) -> list[str]:
    lines = ["pg_stat_activity sampled every 0.1 s: the mean number of the hub's connections in each state over the "
             "phase, and the share of samples in which at least one waited for a lock. \"Running\" is active with no "
             "wait event: on the CPU or ready for it (PostgreSQL shares one core with the hub, so while the sampler "
             "runs nothing else does). The counters are pg_stat_database's over the phase (flushed about once a "
             "second while a backend works and about 10 s after it goes idle, so a phase can get a second's worth "
             "of the one before: hence the commits in whoami; the sampler itself commits about 10 transactions a "
             "second).", "",
             "| phase | samples | running | waiting for a lock | waiting for WAL / IO | in a transaction, waiting for "
             "the hub | other waits | samples with a lock wait | commits | commits per operation | rollbacks | "
             "deadlocks |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    details = []
    for phase in PHASE_ORDER:
        entry = record.get("phases", {}).get(phase)
        if not entry:
            continue
        activity = entry.get("postgres_activity", {})
        counters = entry.get("postgres_counters", {})
        means = activity.get("mean_connections", {})
        cpu = sum(v for k, v in means.items() if k == "active/running")
        lock = sum(v for k, v in means.items() if k.startswith("active/Lock:"))
        io = sum(v for k, v in means.items() if k.startswith(("active/IO:", "active/LWLock:WAL")))
        in_tx = sum(v for k, v in means.items() if k.startswith("idle in transaction"))
        other = max(0.0, sum(v for k, v in means.items() if k.startswith("active/")) - cpu - lock - io)
        lines.append(
            f"| {phase} | {activity.get('samples', 0)} | {cpu:.2f} | {lock:.2f} | {io:.2f} | {in_tx:.2f} | "
            f"{other:.2f} | {_share(activity.get('share_of_samples_with_a_lock_wait'))} | "
            f"{_num(counters.get('xact_commit'), 'rate')} | {_per_op(counters.get('xact_commit'), entry)} | "
            f"{_num(counters.get('xact_rollback'), 'rate')} | "
            f"{_num(counters.get('deadlocks'), 'rate')} |")
        waits = [f"{k.split('/', 1)[1]} {v:.2f}" for k, v in means.items()
                 if k.startswith("active/") and k != "active/running"]
        if waits:
            details.append(f"- {phase}: " + ", ".join(waits))
    if details:
        lines += ["", "Waits of active connections by event (mean connections):", ""] + details
    return lines
