"""What one run is (a server, a protocol mode, auth on or off), which runs a benchmark makes, and how one fails."""

from __future__ import annotations

from dataclasses import dataclass

STATELESS_VERSION = "2026-07-28"
SESSION_VERSION = "2025-11-25"

SERVER_NAMES = {"gatehouse": "Gatehouse", "fastmcp": "FastMCP", "sdk": "Python SDK", "ceiling": "Hummingbird ceiling"}
"""Each server's id (as on the command line and in the JSON) and its display name, in run order."""

MCP_SERVERS = ("gatehouse", "fastmcp", "sdk")
"""The MCP servers, run in both protocol modes with auth."""

PEERS = ("fastmcp", "sdk")
"""The MCP servers Gatehouse is compared with."""

CEILING = "ceiling"
"""The bare Hummingbird endpoint (bench/Ceiling): no MCP, no auth; one run only, stateless requests, auth off."""

CEILING_PROTOCOL_NAME = "bare JSON-RPC"
"""How the report names the ceiling's protocol: it is sent the stateless requests and checks none of it."""

MODE_NAMES = {"stateless": f"{STATELESS_VERSION} stateless", "session": f"{SESSION_VERSION} session"}
"""Each protocol mode and its display name, in run order."""


class RunFailed(Exception):
    """A server did not start, answered wrongly, or did not survive the load; the message says how."""


@dataclass
class Run:
    """One server measured in one protocol mode, with auth on or off; with auth off, `token_sent` has wrk send
    the bearer token all the same (the server ignores it), which isolates the cost of carrying the header.
    `tool` is the name the client calls the `add` tool by (a gateway prefixes it with the upstream's name)."""

    server: str  # gatehouse | fastmcp | sdk | ceiling
    mode: str  # stateless | session
    auth: bool
    token_sent: bool = False
    tool: str = "add"

    def __post_init__(self) -> None:
        if self.server == CEILING and (self.auth or self.mode != "stateless" or self.token_sent):
            raise ValueError("the ceiling has one run only: stateless requests, auth off (it has no auth)")
        if self.auth and self.token_sent:
            raise ValueError("token_sent is for auth off: with auth on the token is always sent")

    @property
    def name(self) -> str:
        """The run's id, used for its log and wrk files: gatehouse-stateless, sdk-session-noauth,
        gatehouse-stateless-noauth-token, ..."""
        return f"{self.server}-{self.mode}" + ("" if self.auth else "-noauth") + ("-token" if self.token_sent else "")

    @property
    def sends_token(self) -> bool:
        """Whether wrk and the probe send a bearer token: with auth on, or with auth off and `token_sent`."""
        return self.auth or self.token_sent

    @property
    def in_ceiling_comparison(self) -> bool:
        """Whether the run is one the "Against the ceiling" section compares (Gatehouse stateless, in each
        of its auth variants, and the ceiling): these are measured in several interleaved rounds."""
        return self.server == CEILING or (self.server == "gatehouse" and self.mode == "stateless")

    @property
    def protocol(self) -> str:
        """The MCP protocol version the client sends."""
        return STATELESS_VERSION if self.mode == "stateless" else SESSION_VERSION

    @property
    def label(self) -> str:
        """The run as the report names it: "FastMCP, 2025-11-25 session", "Gatehouse, ..., auth off",
        "Gatehouse, ..., auth off, token sent", "Hummingbird ceiling, bare JSON-RPC, no auth"."""
        if self.server == CEILING:
            return f"{SERVER_NAMES[self.server]}, {CEILING_PROTOCOL_NAME}, no auth"
        return (f"{SERVER_NAMES[self.server]}, {MODE_NAMES[self.mode]}" + (", auth off" if not self.auth else "")
                + (", token sent" if self.token_sent else ""))


def planned_runs(servers: list[str], noauth_peers: bool) -> list[Run]:
    """Every selected MCP server in both modes with auth, then Gatehouse stateless with auth off, and with
    auth off while the token is sent, then the ceiling (stateless requests, auth off: its only run), then, if
    asked, the peers with auth off. This is the report's order; `rounds.schedule` orders the measurements."""
    runs = []
    for mode in MODE_NAMES:
        for name in MCP_SERVERS:
            if name in servers:
                runs.append(Run(name, mode, True))
    if "gatehouse" in servers:
        runs.append(Run("gatehouse", "stateless", False))
        runs.append(Run("gatehouse", "stateless", False, token_sent=True))
    if CEILING in servers:
        runs.append(Run(CEILING, "stateless", False))
    if noauth_peers:
        for name in PEERS:
            if name in servers:
                runs.append(Run(name, "stateless", False))
    return runs
