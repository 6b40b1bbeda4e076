"""What the benchmark ran on: the machine (CPUs, memory, kernel, load) and the software versions."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from .paths import REPO_ROOT

PYTHON_PACKAGES = ("fastmcp", "mcp", "uvicorn", "starlette", "PyJWT", "cryptography")


def read_loadavg() -> str:
    """/proc/loadavg as it reads now ("" if unreadable)."""
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return ""


def _first_line_starting(path: str, prefix: str) -> str | None:
    """The first line of `path` that starts with `prefix`, or None (also when unreadable)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line
    except OSError:
        pass
    return None


def machine_info(loadavg_before: str) -> dict[str, Any]:
    """CPU count and model, memory, kernel and OS, and the load average before and now."""
    model_line = _first_line_starting("/proc/cpuinfo", "model name")
    mem_line = _first_line_starting("/proc/meminfo", "MemTotal:")
    mem_kib = int(mem_line.split()[1]) if mem_line else 0
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model_line.split(":", 1)[1].strip() if model_line else "",
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": platform.platform(),
        "loadavg_before": loadavg_before,
        "loadavg_after": read_loadavg(),
    }


def command_output(argv: list[str]) -> str:
    """The first line a command prints (stdout, else stderr), or "" if it cannot run."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def package_version(name: str) -> str | None:
    """The installed version of a Python distribution, or None."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def resolved_swift_package(identity: str) -> str | None:
    """The version (or revision) Package.resolved pins for a Swift package, or None."""
    try:
        pins = json.loads((REPO_ROOT / "Package.resolved").read_text()).get("pins", [])
    except (OSError, ValueError):
        return None
    for pin in pins:
        if pin.get("identity") == identity:
            state = pin.get("state", {})
            return state.get("version") or state.get("revision")
    return None


def versions(gatehouse_bin: Path) -> dict[str, Any]:
    """Gatehouse (version, commit, build), Swift, Hummingbird, wrk, Python and the peers' Python packages."""
    commit = command_output(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"])
    dirty = command_output(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"])
    found: dict[str, Any] = {
        "gatehouse": command_output([str(gatehouse_bin), "--version"]),
        "gatehouse_commit": commit + ("-dirty" if dirty else ""),
        "gatehouse_build": "release" if "/release/" in str(gatehouse_bin) else str(gatehouse_bin),
        "swift": command_output(["swift", "--version"]),
        "hummingbird": resolved_swift_package("hummingbird"),
        "wrk": command_output(["wrk", "-v"]),
        "python": platform.python_version(),
    }
    found.update({name: package_version(name) for name in PYTHON_PACKAGES})
    return found
