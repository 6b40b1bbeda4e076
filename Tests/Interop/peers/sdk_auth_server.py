"""A peer MCP server written with the official Python SDK (mcp==2.3.0), not by Gatehouse.

It is both the resource server and its own authorization server, the way the SDK wires
them together: `MCPServer(auth_server_provider=..., auth=AuthSettings(...))` mounts the SDK's
RFC 8414 metadata, /authorize, /token, /register (RFC 7591) and /revoke handlers, the RFC 9728
protected-resource metadata at /.well-known/oauth-protected-resource/mcp, and the bearer
middleware on /mcp that answers 401 with `WWW-Authenticate: Bearer ... resource_metadata=...`.
PKCE (S256 only), redirect-URI matching and dynamic registration are the SDK's own code.

The provider below is written for the tests: in memory, and it AUTO-APPROVES, i.e.
authorize() returns the redirect to the client's redirect_uri with a fresh code at once, as
the SDK's example servers do after their login page. Like them it adds no RFC 9207 `iss`
(the SDK's metadata does not advertise authorization_response_iss_parameter_supported).
It insists on the RFC 8707 `resource` parameter naming this server's MCP endpoint on
/authorize and binds the tokens to it (validate_token_resource); the SDK does not hand the
provider the `resource` of a token request, so tests read that from /_peer/requests.

Tools: add(a, b) -> a + b (text "5" and structured {"result": 5}).

Extra routes, outside OAuth, for the tests:
  GET /healthz          {"status": "ok"}
  GET /_peer/requests   what clients sent to /register, /authorize, /token and /revoke
                        (request bodies/queries with code, code_verifier, tokens and
                        secrets replaced by "<present>")
  GET /_peer/state      counts of registered clients and live codes/tokens
  POST /_peer/revoke-all  forget every access and refresh token (a server-side revocation;
                        the SDK's /revoke insists on a client_secret even from public clients)

Run:  python sdk_auth_server.py --port 8000 [--access-token-ttl 3600]
It stops cleanly (exit 0) on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from peer_serving import read_request, serve

SCOPE = "mcp"
CODE_TTL_S = 300
REFRESH_TTL_S = 30 * 24 * 3600
# Values that are secrets (or single-use credentials) are not echoed by /_peer/requests.
REDACTED = {"code", "code_verifier", "refresh_token", "token", "client_secret", "access_token"}


class AutoApproveProvider:
    """An in-memory OAuthAuthorizationServerProvider that approves every authorization at once
    for the user `peer-user`."""

    def __init__(self, resource: str, access_token_ttl: int) -> None:
        self.resource = resource
        self.access_token_ttl = access_token_ttl
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        # refresh token -> the access token issued with it, so revoking one revokes both.
        self.pairs: dict[str, str] = {}

    # ------------------------------------------------------------------ clients

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id is not None
        self.clients[client_info.client_id] = client_info

    # ------------------------------------------------------------------ /authorize

    def _check_resource(self, resource: str | None, where: str) -> None:
        if resource is None:
            raise AuthorizeError("invalid_request", f"this server requires the RFC 8707 resource parameter on {where}")
        if resource.rstrip("/") != self.resource:
            raise AuthorizeError("invalid_target", f"unknown resource {resource!r}; this server is {self.resource}")

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        self._check_resource(params.resource, "/authorize")
        code = secrets.token_urlsafe(32)
        assert client.client_id is not None
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [SCOPE],
            expires_at=time.time() + CODE_TTL_S,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject="peer-user",
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    # ------------------------------------------------------------------ /token

    async def load_authorization_code(self, client: OAuthClientInformationFull, authorization_code: str) -> AuthorizationCode | None:
        code = self.codes.get(authorization_code)
        if code is None or code.client_id != client.client_id:
            return None
        return code

    def _issue(self, client_id: str, scopes: list[str], resource: str | None, subject: str | None) -> OAuthToken:
        access = "peer_at_" + secrets.token_urlsafe(32)
        refresh = "peer_rt_" + secrets.token_urlsafe(32)
        now = int(time.time())
        self.access_tokens[access] = AccessToken(
            token=access,
            client_id=client_id,
            scopes=scopes,
            expires_at=now + self.access_token_ttl,
            resource=resource,
            subject=subject,
        )
        self.refresh_tokens[refresh] = RefreshToken(
            token=refresh,
            client_id=client_id,
            scopes=scopes,
            expires_at=now + REFRESH_TTL_S,
            resource=resource,
            subject=subject,
        )
        self.pairs[refresh] = access
        return OAuthToken(
            access_token=access,
            token_type="Bearer",
            expires_in=self.access_token_ttl,
            scope=" ".join(scopes),
            refresh_token=refresh,
        )

    async def exchange_authorization_code(self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode) -> OAuthToken:
        if self.codes.pop(authorization_code.code, None) is None:
            raise TokenError("invalid_grant", "authorization code already used")
        assert client.client_id is not None
        return self._issue(client.client_id, authorization_code.scopes, authorization_code.resource, authorization_code.subject)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        token = self.refresh_tokens.get(refresh_token)
        if token is None or token.client_id != client.client_id:
            return None
        return token

    async def exchange_refresh_token(self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]) -> OAuthToken:
        # Rotation: the presented refresh token and its access token die.
        if self.refresh_tokens.pop(refresh_token.token, None) is None:
            raise TokenError("invalid_grant", "refresh token already used")
        self.access_tokens.pop(self.pairs.pop(refresh_token.token, ""), None)
        assert client.client_id is not None
        return self._issue(client.client_id, scopes or refresh_token.scopes, refresh_token.resource, refresh_token.subject)

    # ------------------------------------------------------------------ the resource server

    async def load_access_token(self, token: str) -> AccessToken | None:
        access = self.access_tokens.get(token)
        if access is None:
            return None
        if access.expires_at is not None and access.expires_at < time.time():
            self.access_tokens.pop(token, None)
            return None
        return access

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        if isinstance(token, RefreshToken):
            self.refresh_tokens.pop(token.token, None)
            self.access_tokens.pop(self.pairs.pop(token.token, ""), None)
        else:
            self.access_tokens.pop(token.token, None)
            for refresh, access in list(self.pairs.items()):
                if access == token.token:
                    self.refresh_tokens.pop(refresh, None)
                    self.pairs.pop(refresh, None)


class RecordOAuthRequests:
    """ASGI middleware: keeps what clients sent to the OAuth endpoints (redacted) for
    GET /_peer/requests, and passes the request on unchanged."""

    PATHS = ("/register", "/authorize", "/token", "/revoke")

    def __init__(self, app: ASGIApp, journal: list[dict[str, Any]]) -> None:
        self.app = app
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.PATHS:
            await self.app(scope, receive, send)
            return
        body, headers, replay = await read_request(scope, receive)
        entry: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "query": redact(dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))),
            "content_type": headers.get("content-type", ""),
            "authorization_header": "authorization" in headers,
        }
        if body:
            if headers.get("content-type", "").startswith("application/json"):
                try:
                    entry["json"] = redact(json.loads(body))
                except ValueError:
                    entry["json"] = "<unparsable>"
            else:
                entry["form"] = redact(dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True)))

        async def send_and_record(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.decode("latin-1").lower() == "location":
                        location = value.decode("latin-1")
                        base, _, query = location.partition("?")
                        entry["location"] = base + ("?" + "&".join(
                            f"{k}={'<present>' if k in REDACTED else v}" for k, v in parse_qsl(query)
                        ) if query else "")
                self.journal.append(entry)
            await send(message)

        await self.app(scope, replay, send_and_record)


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("<present>" if k in REDACTED and v not in (None, "") else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def build(port: int, access_token_ttl: int) -> tuple[ASGIApp, AutoApproveProvider]:
    base = f"http://127.0.0.1:{port}"
    resource = base + "/mcp"
    provider = AutoApproveProvider(resource, access_token_ttl)
    server = MCPServer(
        "sdk-peer",
        version="1",
        auth_server_provider=provider,
        auth=AuthSettings(
            issuer_url=base,  # a string keeps the canonical form, no trailing slash
            resource_server_url=resource,
            validate_token_resource=True,
            client_registration_options=ClientRegistrationOptions(
                enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE]
            ),
            revocation_options=RevocationOptions(enabled=True),
            required_scopes=[SCOPE],
        ),
    )

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    journal: list[dict[str, Any]] = []

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @server.custom_route("/_peer/requests", methods=["GET"])
    async def requests(request: Request) -> Response:
        return JSONResponse(journal)

    @server.custom_route("/_peer/state", methods=["GET"])
    async def state(request: Request) -> Response:
        return JSONResponse(
            {
                "clients": len(provider.clients),
                "codes": len(provider.codes),
                "access_tokens": len(provider.access_tokens),
                "refresh_tokens": len(provider.refresh_tokens),
            }
        )

    @server.custom_route("/_peer/revoke-all", methods=["POST"])
    async def revoke_all(request: Request) -> Response:
        forgotten = len(provider.access_tokens) + len(provider.refresh_tokens)
        provider.access_tokens.clear()
        provider.refresh_tokens.clear()
        provider.pairs.clear()
        return JSONResponse({"forgotten": forgotten})

    app = server.streamable_http_app(host="127.0.0.1")
    return RecordOAuthRequests(app, journal), provider


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--access-token-ttl", type=int, default=3600, help="seconds (default 3600)")
    arguments = parser.parse_args()
    app, _ = build(arguments.port, arguments.access_token_ttl)
    return serve(app, arguments.port, "sdk-peer")


if __name__ == "__main__":
    sys.exit(main())
