"""ASGI middleware shared by the gateway upstream peers: records what arrives at their MCP paths."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


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
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
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
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
