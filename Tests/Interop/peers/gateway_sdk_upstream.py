"""An upstream MCP server for the `gatehouse gateway` tests, written with the official Python SDK
(mcp==2.3.0, MCPServer): Streamable HTTP at /mcp, run by uvicorn, no authentication.

Tools:     add(a, b) -> a + b (text "5", structured {"result": 5})
Resource:  file:///notes.txt (text/plain "sdk notes")

Extra routes:  GET /healthz     {"status": "ok"}
               GET /_peer/seen  every request to /mcp so far: [{"http", "method", "authorization"}]

Run:  python gateway_sdk_upstream.py --port 9002 [--transport sse]
      (--transport sse serves the HTTP+SSE transport of 2024-11-05 at /sse instead, and records
      the identity headers of its requests at /_peer/seen)
It stops cleanly (exit 0) on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mcp.server.mcpserver import MCPServer
from peer_journal import RecordMCPRequests, add_peer_routes
from peer_serving import serve


def build(transport: str = "streamable-http") -> Any:
    server = MCPServer("sdk-upstream", version="1")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.resource("file:///notes.txt", mime_type="text/plain")
    def notes() -> str:
        """Notes kept by the SDK upstream."""
        return "sdk notes"

    journal: list[dict[str, Any]] = []
    add_peer_routes(server, journal)

    if transport == "sse":
        return RecordMCPRequests(server.sse_app(host="127.0.0.1"), journal, prefixes=("/sse", "/messages"))
    return RecordMCPRequests(server.streamable_http_app(host="127.0.0.1"), journal)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--transport", choices=["streamable-http", "sse"], default="streamable-http")
    arguments = parser.parse_args()
    return serve(build(arguments.transport), arguments.port, "sdk-upstream")


if __name__ == "__main__":
    sys.exit(main())
