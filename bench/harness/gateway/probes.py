"""What the gateway benchmark checks besides the main harness's probes: which protocol versions an upstream
offers (its server/discover, as the gateway asks it) and which era the gateway chose toward it (its log)."""

from __future__ import annotations

import re
import time
from typing import Any

from ..http_client import http_request, jsonrpc_payload
from ..probes import ACCEPT
from ..runs import STATELESS_VERSION
from ..servers import ServerProcess

ERA_LINE = re.compile(r"upstream protocol found")
NO_SESSIONS_LINE = re.compile(r"upstream serves no sessions")
ERA_FIELD = re.compile(r"\bera=(\w+)")
ERA_WAIT_S = 2.0
"""How long to wait for the gateway's "upstream protocol found" line to reach its log after the first call."""


def offered_versions(server: ServerProcess) -> dict[str, Any]:
    """The upstream's answer to a 2026-07-28 `server/discover`: its HTTP status and `supportedVersions` (None when
    it refuses the request, as a session-only server does), and whether 2026-07-28 is among them."""
    headers = {"Content-Type": "application/json", "Accept": ACCEPT, "MCP-Protocol-Version": STATELESS_VERSION,
               "Mcp-Method": "server/discover"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": {
        "io.modelcontextprotocol/protocolVersion": STATELESS_VERSION,
        "io.modelcontextprotocol/clientCapabilities": {}}}}
    answer = http_request("POST", server.mcp_url, headers, body)
    versions = None
    if answer.status == 200:
        try:
            versions = jsonrpc_payload(answer).get("result", {}).get("supportedVersions")
        except ValueError:
            versions = None
    return {"status": answer.status, "supported_versions": versions,
            "offers_stateless": isinstance(versions, list) and STATELESS_VERSION in versions}


def gateway_era(gateway: ServerProcess, upstream_protocol: str, client_mode: str) -> dict[str, str | None]:
    """The era the gateway speaks to its upstream for a client in `client_mode`: forced by the configuration, or
    (protocol auto) from its log: a session upstream when its first contact found sessions, and for a session
    client also when it found 2026-07-28 (the gateway opens upstream sessions for downstream sessions unless the
    upstream refuses them); None when the line never came."""
    if upstream_protocol != "auto":
        return {"era": upstream_protocol, "source": "forced by the --config file (\"protocol\")"}
    deadline = time.monotonic() + ERA_WAIT_S
    while True:
        lines = gateway.log_path.read_text(errors="replace").splitlines()
        refused = any(NO_SESSIONS_LINE.search(line) for line in lines)
        for line in lines:
            if ERA_LINE.search(line) and (found := ERA_FIELD.search(line)):
                era = found.group(1)
                if client_mode == "session" and era == "stateless" and not refused:
                    era = "session"
                return {"era": era, "source": "the gateway's log: " + line.strip()[:200]
                        + ("; a downstream session gets an upstream session" if client_mode == "session" else "")}
        if time.monotonic() >= deadline:
            return {"era": None, "source": "no \"upstream protocol found\" line in the gateway's log"}
        time.sleep(0.1)
