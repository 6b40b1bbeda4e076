"""The processes of one measurement: the upstream (started as the main harness starts it, auth off) and, for a
target through the gateway, `gatehouse gateway --provider none` in front of it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..console import log
from ..paths import TMP_DIR
from ..pinning import Pinning
from ..servers import ServerProcess, clean_environment, free_port, prepare_server, wait_ready
from .runs import UPSTREAM_NAMES, Target

GATEWAY_LOG_LEVEL = "info"
"""The gateway logs at info, which adds no line per request (request lines are debug) but keeps the one that says
which protocol it found toward the upstream ("upstream protocol found", era=...)."""

FILES_DIR = "gateway"
"""The subdirectory of bench/results/tmp/ for this benchmark's logs, wrk output and working directories."""


@dataclass
class Stack:
    """The upstream and, if the target goes through it, the gateway; `entry` is what the client talks to."""

    target: Target
    upstream: ServerProcess
    gateway: ServerProcess | None

    @property
    def entry(self) -> ServerProcess:
        return self.gateway or self.upstream

    @property
    def roles(self) -> list[tuple[str, ServerProcess]]:
        """("upstream", its process), then ("gateway", its process) if there is one: the order in which they
        start and their CPU time is read."""
        return [("upstream", self.upstream)] + ([("gateway", self.gateway)] if self.gateway else [])

    def start(self, startup_timeout: float) -> dict[str, float]:
        """Start the upstream, wait until it answers HTTP, then the same for the gateway; returns the seconds each
        took to start, by role."""
        took = {}
        for role, server in self.roles:
            log(f"{server.name}: starting the {role} on port {server.port}")
            server.start()
            took[role] = round(wait_ready(server, startup_timeout), 3)
        return took

    def stop(self) -> dict[str, int | None]:
        """Stop the gateway, then the upstream (each SIGTERM, then SIGKILL); returns their exit codes, by role."""
        codes = {}
        if self.gateway is not None:
            codes["gateway"] = self.gateway.stop()
        codes["upstream"] = self.upstream.stop()
        return codes


def prepare_stack(target: Target, gatehouse_bin: Path, pinning: Pinning, gateway_cpu: str,
                  round_number: int) -> Stack:
    """The processes for `target` in round `round_number`, on free ports, not started: the upstream pinned where
    the main harness pins servers, the gateway on `gateway_cpu`."""
    upstream = prepare_server(target.upstream_run, None, gatehouse_bin, gatehouse_bin, pinning, round_number,
                              stem=f"{FILES_DIR}/{target.name}-upstream")
    gateway = None
    if target.via_gateway:
        gateway = _prepare_gateway(target, upstream, gatehouse_bin, pinning.prefix(gateway_cpu), round_number)
    return Stack(target, upstream, gateway)


def _prepare_gateway(target: Target, upstream: ServerProcess, gatehouse_bin: Path, cpu_prefix: list[str],
                     round_number: int) -> ServerProcess:
    """`gatehouse gateway` on 127.0.0.1 with auth off, its store in its working directory, forwarding to
    `upstream` as `--upstream NAME=URL` (protocol auto) or through a `--config` file that forces the protocol."""
    port = free_port()
    stem = f"{FILES_DIR}/{target.name}-gateway"
    workdir = TMP_DIR / stem
    workdir.mkdir(parents=True, exist_ok=True)
    name = f"{stem}-r{round_number}"
    argv = [str(gatehouse_bin), "gateway", "--host", "127.0.0.1", "--port", str(port), "--provider", "none",
            "--database-path", str(workdir / "gateway.sqlite"), "--log-level", GATEWAY_LOG_LEVEL]
    upstream_name = UPSTREAM_NAMES[target.upstream]
    if target.upstream_protocol == "auto":
        argv += ["--upstream", f"{upstream_name}={upstream.mcp_url}"]
    else:
        config = workdir / f"gateway-r{round_number}.json"
        config.write_text(json.dumps({"upstreams": [
            {"name": upstream_name, "url": upstream.mcp_url, "protocol": target.upstream_protocol}]}, indent=2) + "\n")
        argv += ["--config", str(config)]
    return ServerProcess(target.client_run, cpu_prefix + argv, clean_environment(), workdir, TMP_DIR / f"{name}.log",
                         port, name)
