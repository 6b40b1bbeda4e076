"""CPU pinning with taskset: the server on one CPU list, wrk on another, or neither pinned."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass


@dataclass(frozen=True)
class Pinning:
    """Where the server and wrk run; `enabled` is False when pinning was refused or is impossible."""

    enabled: bool
    server_cpu: str
    wrk_cpu: str

    @classmethod
    def detect(cls, requested: bool, server_cpu: str, wrk_cpu: str) -> Pinning:
        """Pin only if asked, taskset is installed and this process may use at least two CPUs."""
        enabled = requested and shutil.which("taskset") is not None and len(os.sched_getaffinity(0)) >= 2
        return cls(enabled, server_cpu, wrk_cpu)

    def server_prefix(self) -> list[str]:
        """The argv prefix that pins a server (empty without pinning)."""
        return self.prefix(self.server_cpu)

    def wrk_prefix(self) -> list[str]:
        """The argv prefix that pins wrk (empty without pinning)."""
        return self.prefix(self.wrk_cpu)

    def prefix(self, cpu: str) -> list[str]:
        """The argv prefix that pins a process to `cpu` (empty without pinning)."""
        return ["taskset", "-c", cpu] if self.enabled else []

    def describe(self) -> str:
        """For the log: "server cpu 0, wrk cpu 1" or "off"."""
        return f"server cpu {self.server_cpu}, wrk cpu {self.wrk_cpu}" if self.enabled else "off"

    def settings(self) -> dict[str, str] | None:
        """For the report's settings: the CPU lists, or None without pinning."""
        return {"server_cpu": self.server_cpu, "wrk_cpu": self.wrk_cpu} if self.enabled else None
