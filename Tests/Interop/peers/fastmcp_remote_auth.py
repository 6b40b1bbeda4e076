"""A protected MCP server written with FastMCP 4.1.2 (not by Gatehouse) the way its docs set up a
resource server for an external authorization server: `RemoteAuthProvider` around a
`JWTVerifier` (ES256 tokens from the issuer's JWKS, aud = this server's MCP URL). FastMCP then
serves the RFC 9728 protected-resource metadata naming the issuer and answers unauthenticated
requests with its own 401 challenge. Streamable HTTP at /mcp, run by uvicorn.

For `gatehouse doctor url` (test_doctor_url.py) as a healthy deployment that nobody here wrote;
the issuer is the gallery's healthy authorization server (peers/broken_deployment.py).

Tools:  echo(text) -> text
Extra:  GET /healthz  {"status": "ok"}  (outside MCP, never authenticated)

Run:  python fastmcp_remote_auth.py --port 9002 --issuer http://127.0.0.1:9001
      (--jwks defaults to <issuer>/jwks)
It stops cleanly (exit 0) on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import sys

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from fastmcp import FastMCP
from fastmcp.server.auth import RemoteAuthProvider
from fastmcp.server.auth.providers.jwt import JWTVerifier
from peer_serving import serve


def build(port: int, issuer: str, jwks: str) -> ASGIApp:
    base = f"http://127.0.0.1:{port}"
    verifier = JWTVerifier(jwks_uri=jwks, issuer=issuer, audience=base + "/mcp", algorithm="ES256")
    auth = RemoteAuthProvider(token_verifier=verifier, authorization_servers=[issuer], base_url=base)
    server = FastMCP("fastmcp-remote-auth", auth=auth)

    @server.tool
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return server.http_app(path="/mcp", transport="http")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--issuer", required=True, help="the authorization server (its issuer identifier)")
    parser.add_argument("--jwks", help="its JWKS URL (default: <issuer>/jwks)")
    arguments = parser.parse_args()
    jwks = arguments.jwks or arguments.issuer.rstrip("/") + "/jwks"
    return serve(build(arguments.port, arguments.issuer, jwks), arguments.port, "fastmcp-remote-auth")


if __name__ == "__main__":
    sys.exit(main())
