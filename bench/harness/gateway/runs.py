"""What the gateway benchmark compares: its rows (an upstream called directly and through the gateway) and the
targets wrk loads (one path to one upstream under one load), and the order it measures them in."""

from __future__ import annotations

from dataclasses import dataclass

from ..runs import MODE_NAMES, Run

UPSTREAM_NAMES = {"gatehouse": "hub", "fastmcp": "fastmcp"}
"""Each upstream's id (as in the main harness) and the name the gateway gives it (`--upstream NAME=URL`), which
prefixes its tools: the hub's `add` is `hub_add` through the gateway."""

UPSTREAM_LABELS = {"gatehouse": "Gatehouse hub", "fastmcp": "FastMCP"}
"""Each upstream as the report names it."""

UPSTREAM_PROTOCOLS = ("auto", "session")
"""What the gateway speaks to an upstream: `auto` (what `--upstream NAME=URL` does: 2026-07-28 for stateless
clients when the upstream's server/discover offers it, sessions for downstream sessions) or `session` (forced with a `--config` file
holding "protocol": "session": each downstream session gets an upstream session of its own)."""

LOADS = ("latency", "throughput")
"""wrk's two loads: one connection (the added latency, nothing queued) and the standard connections (throughput)."""


@dataclass(frozen=True)
class Row:
    """One comparison of the report: `upstream` called directly and through the gateway by a client in protocol
    `mode`, the gateway speaking `upstream_protocol` to the upstream."""

    upstream: str  # gatehouse | fastmcp
    mode: str  # stateless | session
    upstream_protocol: str = "auto"

    @property
    def id(self) -> str:
        """As on the command line: hub-stateless, hub-session, hub-session-upstream-session, fastmcp-session, ..."""
        return (f"{UPSTREAM_NAMES[self.upstream]}-{self.mode}"
                + ("" if self.upstream_protocol == "auto" else f"-upstream-{self.upstream_protocol}"))

    @property
    def label(self) -> str:
        """"Gatehouse hub, 2025-11-25 session (gateway → upstream: session, forced)"."""
        toward = "auto" if self.upstream_protocol == "auto" else f"{self.upstream_protocol}, forced"
        return f"{UPSTREAM_LABELS[self.upstream]}, {MODE_NAMES[self.mode]} (gateway → upstream: {toward})"

    def target(self, via_gateway: bool, load: str) -> Target:
        """The direct path to this row's upstream, or the path through the gateway, under `load`."""
        return Target(self.upstream, self.mode, self.upstream_protocol if via_gateway else None, load)


@dataclass(frozen=True)
class Target:
    """What wrk loads in one measurement: `upstream` directly (`upstream_protocol` None) or the gateway in front of
    it speaking `upstream_protocol` to it, in the client protocol `mode`, under `load`."""

    upstream: str
    mode: str
    upstream_protocol: str | None
    load: str  # latency | throughput

    @property
    def via_gateway(self) -> bool:
        return self.upstream_protocol is not None

    @property
    def name(self) -> str:
        """The stem of its log and wrk files (under bench/results/tmp/gateway/): hub-session-direct-latency,
        hub-session-gateway-session-throughput, ..."""
        path = f"gateway-{self.upstream_protocol}" if self.via_gateway else "direct"
        return f"{UPSTREAM_NAMES[self.upstream]}-{self.mode}-{path}-{self.load}"

    @property
    def label(self) -> str:
        """"FastMCP, 2025-11-25 session, via the gateway (upstream auto), latency"."""
        path = f"via the gateway (upstream {self.upstream_protocol})" if self.via_gateway else "direct"
        return f"{UPSTREAM_LABELS[self.upstream]}, {MODE_NAMES[self.mode]}, {path}, {self.load}"

    @property
    def upstream_run(self) -> Run:
        """The upstream as the main harness runs it with auth off (FastMCP keeps sessions in session mode)."""
        return Run(self.upstream, self.mode, False)

    @property
    def client_run(self) -> Run:
        """What the client (probe, wrk) talks to: the upstream itself, or a Gatehouse process (the gateway) whose
        `add` tool carries the upstream's name."""
        if not self.via_gateway:
            return self.upstream_run
        return Run("gatehouse", self.mode, False, tool=f"{UPSTREAM_NAMES[self.upstream]}_add")


ROWS = {
    row.id: row
    for row in (
        Row("gatehouse", "stateless"),
        Row("gatehouse", "session"),
        Row("gatehouse", "session", "session"),
        Row("fastmcp", "session"),
        Row("fastmcp", "session", "session"),
        Row("fastmcp", "stateless"),
    )
}
"""Every row the benchmark knows, by id."""

DEFAULT_ROWS = tuple(ROWS)
"""The rows run unless --rows says otherwise: all of them (fastmcp-stateless also gives FastMCP's own figures in
the protocol a gateway on auto speaks to it)."""


def planned_targets(rows: list[Row]) -> list[Target]:
    """Every target the rows need, each once (rows of one upstream and mode share its direct target), in the
    order a round measures them: per load, each row's direct target next to its gateway target, so a slow spell
    of the machine hits both sides of a comparison."""
    targets: list[Target] = []
    for load in LOADS:
        for row in rows:
            for target in (row.target(False, load), row.target(True, load)):
                if target not in targets:
                    targets.append(target)
    return targets


def schedule(targets: list[Target], rounds: int) -> list[tuple[Target, int]]:
    """The measurements in order: round 1 measures every target once, round 2 each again, and so on."""
    return [(target, number) for number in range(1, rounds + 1) for target in targets]
