"""What the gateway upstream peers share: middleware that records what arrives at their MCP paths, and the
routes that show it (GET /_peer/seen) and say the peer is up (GET /healthz)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from peer_serving import read_request


def add_peer_routes(server: Any, journal: list[dict[str, Any]]) -> None:
    """GET /healthz and GET /_peer/seen (the journal) on a FastMCP or SDK `server` (its `custom_route`)."""

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @server.custom_route("/_peer/seen", methods=["GET"])
    async def seen(request: Request) -> Response:
        return JSONResponse(journal)


class RecordMCPRequests:
    """Keeps the HTTP method, the JSON-RPC method (or "<response>" for a client's answer to a
    server request), the raw Authorization header, the gateway's X-Gatehouse-Subject header, the
    Mcp-Session-Id and MCP-Protocol-Version headers and the keys of params._meta of every request
    to the MCP paths (`prefixes`: /mcp, or /sse and /messages), for GET /_peer/seen, and passes
    the request on unchanged (also the ones auth refuses)."""

    def __init__(self, app: ASGIApp, journal: list[dict[str, Any]], prefixes: tuple[str, ...] = ("/mcp",)) -> None:
        self.app = app
        self.journal = journal
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        body, headers, replay = await read_request(scope, receive)
        method = None
        meta_keys: list[str] = []
        try:
            parsed = json.loads(body) if body else None
            if isinstance(parsed, dict):
                method = parsed.get("method") or ("<response>" if "result" in parsed or "error" in parsed else None)
                params = parsed.get("params")
                if isinstance(params, dict) and isinstance(params.get("_meta"), dict):
                    meta_keys = sorted(params["_meta"])
        except ValueError:
            pass
        self.journal.append({
            "http": scope["method"],
            "method": method,
            "authorization": headers.get("authorization"),
            "subject": headers.get("x-gatehouse-subject"),
            "session": headers.get("mcp-session-id"),
            "protocol_version": headers.get("mcp-protocol-version"),
            "meta_keys": meta_keys,
        })
        await self.app(scope, replay, send)
