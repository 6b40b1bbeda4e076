"""An upstream MCP server for the `gatehouse gateway` tests, written with FastMCP 4.1.2 (not by
Gatehouse, not by the official SDK's authors): Streamable HTTP at /mcp, run by uvicorn.

Tools:
  echo(text)        -> text
  slow_count(n)     reports progress 1..n of n (ctx.report_progress, "step i of n"), sleeping
                    0.3 s before each, then returns "counted to n"
  ask_name()        asks the user for a name (ctx.elicit, a string) and returns "hello <name>";
                    "declined" / "cancelled" when the user did not answer
  delete_doc(doc_id) -> "deleted <doc_id>"   (the tests' gateway policy: scope docs:admin)
  purge_all()       -> "purged"              (the tests' gateway policy: user alice only)
  whoami()          what the Authorization header this request carried says, as JSON:
                    {"authorization": "none" | "bearer" | "other",
                     "verified": true when FastMCP's JWTVerifier checked it (started with --jwks),
                     "claims": the JWT payload (decoded; verified only with --jwks) or null,
                     "sub", "aud", "iss", "act", "scope": from the claims,
                     "is_client_token": the raw token is one of --client-token ...}
Resource:  docs://readme  (text/markdown "# Docs readme")
Prompt:    greet(name) -> one user message "Say hello to <name>."

With --jwks URL --issuer ISS --audience AUD every request to /mcp must carry a bearer JWT
(ES256) that FastMCP's JWTVerifier accepts; otherwise no authentication.

Extra routes for the tests (outside MCP, never authenticated):
  GET /healthz         {"status": "ok"}
  GET /_peer/seen      every request to /mcp so far: [{"method": JSON-RPC method or null,
                       "authorization": the raw header value or null}]

Run:  python gateway_fastmcp_upstream.py --port 9001 [--jwks URL --issuer ISS --audience AUD]
                                         [--client-token TOKEN ...]
It stops cleanly (exit 0) on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
from typing import Any

from starlette.types import ASGIApp

from fastmcp import Context, FastMCP
from fastmcp.server.dependencies import get_access_token, get_http_headers
from peer_journal import RecordMCPRequests, add_peer_routes
from peer_serving import serve

PROGRESS_STEP_S = 0.3


def decode_payload(token: str) -> dict[str, Any] | None:
    """The payload of a compact JWS, unverified; None when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, json.JSONDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def build(arguments: argparse.Namespace) -> ASGIApp:
    auth = None
    if arguments.jwks:
        from fastmcp.server.auth.providers.jwt import JWTVerifier

        auth = JWTVerifier(
            jwks_uri=arguments.jwks,
            issuer=arguments.issuer,
            audience=arguments.audience,
            algorithm="ES256",
            jwks_refresh_interval=0,
        )
    client_tokens = set(arguments.client_token or [])
    server = FastMCP("fastmcp-upstream", auth=auth)

    @server.tool
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool
    async def slow_count(n: int, ctx: Context) -> str:
        """Count to n, reporting progress at every step."""
        for step in range(1, n + 1):
            await asyncio.sleep(PROGRESS_STEP_S)
            await ctx.report_progress(step, n, f"step {step} of {n}")
        return f"counted to {n}"

    @server.tool
    async def ask_name(ctx: Context) -> str:
        """Ask the user for their name and greet them."""
        answer = await ctx.elicit("What is your name?", str)
        if answer.action == "accept":
            return f"hello {answer.data}"
        return answer.action

    @server.tool
    def whoami() -> dict[str, Any]:
        """What the Authorization header of this request says."""
        header = get_http_headers(include={"authorization"}).get("authorization")
        if header is None:
            return {"authorization": "none", "verified": False, "claims": None, "is_client_token": False}
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return {"authorization": "other", "verified": False, "claims": None, "is_client_token": header in client_tokens}
        access = get_access_token()
        verified = auth is not None and access is not None and access.token == token
        claims = (access.claims if verified and access.claims else None) or decode_payload(token)
        claims = claims or {}
        return {
            "authorization": "bearer",
            "verified": verified,
            "claims": claims or None,
            "sub": claims.get("sub"),
            "aud": claims.get("aud"),
            "iss": claims.get("iss"),
            "act": claims.get("act"),
            "scope": claims.get("scope"),
            "is_client_token": token in client_tokens,
        }

    @server.tool
    def delete_doc(doc_id: str) -> str:
        """Delete a document (the gateway's policy reserves it for docs:admin)."""
        return f"deleted {doc_id}"

    @server.tool
    def purge_all() -> str:
        """Delete every document (the gateway's policy reserves it for one user)."""
        return "purged"

    @server.resource("docs://readme", mime_type="text/markdown")
    def readme() -> str:
        """The docs readme."""
        return "# Docs readme"

    @server.prompt
    def greet(name: str) -> str:
        """Ask the model to greet someone."""
        return f"Say hello to {name}."

    journal: list[dict[str, Any]] = []
    add_peer_routes(server, journal)

    app = server.http_app(path="/mcp", transport="http")
    return RecordMCPRequests(app, journal)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--jwks", help="verify bearer JWTs with the keys at this URL")
    parser.add_argument("--issuer", help="the iss the JWTs must carry (with --jwks)")
    parser.add_argument("--audience", help="the aud the JWTs must carry (with --jwks)")
    parser.add_argument("--client-token", action="append", help="a token clients hold; whoami says if it arrived")
    arguments = parser.parse_args()
    if arguments.jwks and not (arguments.issuer and arguments.audience):
        parser.error("--jwks needs --issuer and --audience")
    return serve(build(arguments), arguments.port, "fastmcp-upstream")


if __name__ == "__main__":
    sys.exit(main())
