"""FastMCP 4.1.2 peer for bench/harness: one `add` tool behind FastMCP's own JWTVerifier.

    python fastmcp_server.py --port P --issuer ISS --jwks-uri URI --audience AUD [--stateless] [--no-auth]

Streamable HTTP with JSON responses (no SSE) at /mcp on 127.0.0.1. With --stateless the
legacy (initialize-era) path runs without sessions; 2026-07-28 requests are stateless either way
(the mcp SDK underneath routes them by their MCP-Protocol-Version header).
"""

from __future__ import annotations

import os

os.environ.setdefault("FASTMCP_CHECK_FOR_UPDATES", "off")
os.environ.setdefault("FASTMCP_LOG_LEVEL", "WARNING")

from fastmcp import FastMCP  # noqa: E402
from fastmcp.server.auth.providers.jwt import JWTVerifier  # noqa: E402
from peer_args import parse_peer_args  # noqa: E402


def main() -> None:
    args = parse_peer_args()

    auth = None
    if not args.no_auth:
        auth = JWTVerifier(
            jwks_uri=args.jwks_uri,
            issuer=args.issuer,
            audience=args.audience,
            algorithm="RS256",
            base_url=f"http://127.0.0.1:{args.port}",
        )

    mcp = FastMCP("bench-fastmcp", auth=auth)

    @mcp.tool
    def add(a: float, b: float) -> float:
        """Add two numbers."""
        return a + b

    mcp.run(
        transport="http",
        host="127.0.0.1",
        port=args.port,
        path="/mcp",
        log_level="WARNING",
        json_response=True,
        stateless_http=args.stateless,
        show_banner=False,
        uvicorn_config={"access_log": False},
    )


if __name__ == "__main__":
    main()
