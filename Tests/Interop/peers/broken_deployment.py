"""The gallery of broken deployments for `gatehouse doctor url`: one small HTTP server that plays
BOTH a protected MCP endpoint (at /mcp) and its own authorization server (issuer = its base URL),
healthy by default, with at most one fault switched on by name.

Healthy, it is right by the specs a client relies on:

  POST /mcp without a token   401, `WWW-Authenticate: Bearer resource_metadata="<base>/.well-known/
                              oauth-protected-resource/mcp", scope="mcp"` (RFC 6750 §3, RFC 9728 §5.1);
                              with an access token this server issued for <base>/mcp (an ES256 JWT,
                              aud = the resource) a minimal MCP server over Streamable HTTP, JSON
                              answers, no sessions: initialize, ping, tools/list (get_weather),
                              tools/call; notifications and responses 202. GET and DELETE 405.
  GET /.well-known/oauth-protected-resource/mcp   RFC 9728 metadata, resource = <base>/mcp,
  GET /.well-known/oauth-protected-resource       authorization_servers = [<base>] (both forms)
  GET /.well-known/oauth-authorization-server     RFC 8414 metadata: issuer = <base> exactly,
                              PKCE S256, registration_endpoint, jwks_uri, …
                              (no /.well-known/openid-configuration: an OAuth AS, not an OpenID
                              Provider; it answers 404 as such a server does)
  POST /register              RFC 7591: redirect URIs https, loopback http or a private-use scheme;
                              201 with a client_id (and a client_secret for a confidential client)
  GET /authorize              approves at once (no login): PKCE S256 required, RFC 8707 resource
                              taken as the token's audience, RFC 9207 iss in the redirect
  POST /token                 authorization_code with the PKCE check; JSON errors (a bogus code:
                              400 {"error": "invalid_grant"}), Cache-Control: no-store
  GET /jwks                   one EC P-256 public key
  CORS everywhere             preflights (OPTIONS with Origin and Access-Control-Request-Method)
                              answered 204 before any auth, allowing any origin, GET/POST/DELETE and
                              the MCP headers; every answer carries Access-Control-Allow-Origin: *
                              and exposes WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version
  Date                        the real time (http.server's own header)
  GET /healthz                {"status": "ok"} (never faulty; for start-up checks)

Faults: FAULTS below, one per name, each named after the finding `gatehouse doctor url` should
report; the dict's text says what the server then does wrong. The three `unprotected*` faults
serve MCP without a token; they (and only they) check the Origin of MCP requests: allowed are
no Origin, the server's own and https://client.example (the browser client the CORS checks
use); any other Origin is refused with 403, except under unprotected_no_origin_check.

In the tests:

    with BrokenDeployment("issuer_mismatch") as deployment:
        deployment.mcp_url         # http://127.0.0.1:PORT/mcp
        deployment.requests        # [{"method", "path", "status", "origin"}, …] as they arrived
        deployment.clients         # the clients /register accepted

It runs in a daemon thread of the calling process (stdlib ThreadingHTTPServer, HTTP/1.1) on a
port the OS picks on 127.0.0.1; start() waits (at most 5 s) until GET /healthz answers, stop()
(or leaving the `with`) shuts it down.

By hand:  python broken_deployment.py [--port 8000] [--fault NAME]
          gatehouse doctor url http://127.0.0.1:8000/mcp
It stops cleanly (exit 0) on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import signal
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

# name -> what the server does wrong. Each is named after the finding it should cause.
FAULTS: dict[str, str] = {
    "no_bearer": "POST /mcp without a token answers 401 without any WWW-Authenticate header",
    "no_resource_metadata": 'the challenge is `Bearer realm="mcp"`, without resource_metadata',
    "resource_metadata_relative": 'the challenge names resource_metadata="/.well-known/oauth-protected-resource/mcp", a relative URL',
    "prm_missing": "no protected-resource metadata: 404 at the challenge's URL and at both well-known URLs",
    "header_url_broken": "the challenge names <base>/mcp/.well-known/oauth-protected-resource (404); both well-known URLs work",
    "resource_mismatch": "the protected-resource metadata says resource <base>/api/mcp (the endpoint is at /mcp)",
    "no_authorization_servers": "the protected-resource metadata has no authorization_servers",
    "as_metadata_missing": 'the authorization server\'s metadata answers 404 {"error": "not_found"} at every well-known URL',
    "issuer_mismatch": "the authorization server's metadata says issuer http://localhost:PORT (it is fetched from http://127.0.0.1:PORT)",
    "no_pkce_s256": "the authorization server's metadata has no code_challenge_methods_supported",
    "no_registration": "no registration_endpoint (POST /register 404) and no client_id_metadata_document_supported",
    "token_error_html": "the token endpoint's error answers are 400 text/html pages",
    "jwks_empty": 'the JWKS is {"keys": []}',
    "jwks_unreachable": "the jwks_uri answers 404",
    "as_http_endpoint": "the metadata advertises token_endpoint http://auth.example.invalid/token (plain http, never contacted)",
    "preflight_needs_auth": "OPTIONS on the MCP endpoint answers 401 with the challenge and no CORS headers (auth before CORS)",
    "preflight_redirect": "every OPTIONS answers 308 to the same path over https (the tunnel's http->https redirect)",
    "cors_headers_missing": "preflights allow only the headers Authorization, Content-Type (no MCP-Protocol-Version, Mcp-Session-Id)",
    "metadata_not_readable": "GET of the protected-resource and authorization-server metadata carry no Access-Control-Allow-Origin",
    "clock_skew": "every Date header is 10 minutes ahead",
    "endpoint_redirect": "POST /mcp answers 307 to <base>/mcp/ (where the endpoint really is)",
    "unprotected": "the MCP endpoint serves without a token (valid tools, Origin checked)",
    "unprotected_bad_tool_names": 'the MCP endpoint serves without a token and lists a tool named "get weather!"',
    "unprotected_no_origin_check": "the MCP endpoint serves without a token and accepts any Origin (https://evil.example)",
    "registration_refused": 'POST /register answers 400 {"error": "invalid_client_metadata"} (dynamic registration disabled)',
}

OPEN_FAULTS = ("unprotected", "unprotected_bad_tool_names", "unprotected_no_origin_check")
# The browser origin a CORS check uses, allowed by the Origin-checking open endpoint.
CLIENT_ORIGIN = "https://client.example"
PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26")
SCOPE = "mcp"
MCP_HEADERS = "Authorization, Content-Type, MCP-Protocol-Version, Mcp-Session-Id, Last-Event-ID"
EXPOSED_HEADERS = "WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version"
ACCESS_TOKEN_TTL_S = 3600
CODE_TTL_S = 300
CLOCK_SKEW_S = 600
START_TIMEOUT_S = 5.0
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


class BrokenDeployment:
    """The gallery server; `with BrokenDeployment(fault) as deployment:` or start()/stop()."""

    def __init__(self, fault: str | None = None, port: int = 0) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        self.fault = fault
        self.requested_port = port
        self.port = 0
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = "gallery-" + secrets.token_hex(4)
        self.clients: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- addresses

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        """The issuer this server is (what the healthy metadata says)."""
        return self.base_url

    @property
    def mcp_url(self) -> str:
        return self.base_url + "/mcp"

    @property
    def prm_url(self) -> str:
        """The path-aware protected-resource metadata URL (RFC 9728 §3.1)."""
        return self.base_url + "/.well-known/oauth-protected-resource/mcp"

    @property
    def as_metadata_url(self) -> str:
        return self.base_url + "/.well-known/oauth-authorization-server"

    @property
    def open(self) -> bool:
        """The MCP endpoint serves without a token."""
        return self.fault in OPEN_FAULTS

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> "BrokenDeployment":
        handler = type("GalleryHandler", (_Handler,), {"deployment": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.requested_port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"gallery-{self.fault}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        last = "no attempt made"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=1.0) as answer:
                    if answer.status == 200 and json.loads(answer.read()) == {"status": "ok"}:
                        return self
            except (OSError, ValueError) as error:
                last = repr(error)
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the gallery server ({self.fault}) did not answer GET /healthz within {START_TIMEOUT_S} s: {last}")

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "BrokenDeployment":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_text(self) -> str:
        """The requests so far, one a line, for failing test reports."""
        with self.lock:
            return "\n".join(
                f"{r['method']} {r['path']} -> {r['status']}" + (f" (Origin {r['origin']})" if r.get("origin") else "")
                for r in self.requests
            )

    # ---------------------------------------------------------------- documents

    def challenge(self) -> str | None:
        """The WWW-Authenticate of a 401 for a request without a token (None: no header)."""
        if self.fault == "no_bearer":
            return None
        if self.fault == "no_resource_metadata":
            return 'Bearer realm="mcp"'
        if self.fault == "resource_metadata_relative":
            return 'Bearer resource_metadata="/.well-known/oauth-protected-resource/mcp", scope="mcp"'
        if self.fault == "header_url_broken":
            return f'Bearer resource_metadata="{self.base_url}/mcp/.well-known/oauth-protected-resource", scope="mcp"'
        return f'Bearer resource_metadata="{self.prm_url}", scope="mcp"'

    def protected_resource_metadata(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "resource": self.base_url + "/api/mcp" if self.fault == "resource_mismatch" else self.mcp_url,
            "authorization_servers": [self.issuer],
            "scopes_supported": [SCOPE],
            "bearer_methods_supported": ["header"],
            "resource_name": "Gallery MCP server",
        }
        if self.fault == "no_authorization_servers":
            del document["authorization_servers"]
        return document

    def advertised_issuer(self) -> str:
        return f"http://localhost:{self.port}" if self.fault == "issuer_mismatch" else self.issuer

    def authorization_server_metadata(self) -> dict[str, Any]:
        base = self.base_url
        document: dict[str, Any] = {
            "issuer": self.advertised_issuer(),
            "authorization_endpoint": base + "/authorize",
            "token_endpoint": "http://auth.example.invalid/token" if self.fault == "as_http_endpoint" else base + "/token",
            "registration_endpoint": base + "/register",
            "jwks_uri": base + "/jwks",
            "scopes_supported": [SCOPE],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }
        if self.fault == "no_pkce_s256":
            del document["code_challenge_methods_supported"]
        if self.fault == "no_registration":
            del document["registration_endpoint"]
        return document

    def jwks(self) -> dict[str, Any]:
        if self.fault == "jwks_empty":
            return {"keys": []}
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "EC",
                    "crv": "P-256",
                    "x": b64url(numbers.x.to_bytes(32, "big")),
                    "y": b64url(numbers.y.to_bytes(32, "big")),
                    "kid": self.kid,
                    "use": "sig",
                    "alg": "ES256",
                }
            ]
        }

    def tools(self) -> list[dict[str, Any]]:
        name = "get weather!" if self.fault == "unprotected_bad_tool_names" else "get_weather"
        return [
            {
                "name": name,
                "description": "The weather in a city (always sunny here).",
                "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            }
        ]

    # ---------------------------------------------------------------- tokens

    def mint(self, client_id: str, resource: str, scope: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.advertised_issuer(),
            "sub": "gallery-user",
            "aud": resource,
            "client_id": client_id,
            "scope": scope,
            "iat": now,
            "exp": now + ACCESS_TOKEN_TTL_S,
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": self.kid, "typ": "at+jwt"})

    def accepts(self, token: str) -> bool:
        """A token this server issued for its own MCP endpoint, unexpired."""
        try:
            jwt.decode(
                token, self.key.public_key(), algorithms=["ES256"], audience=self.mcp_url, issuer=self.advertised_issuer(),
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.PyJWTError:
            return False
        return True


class _Reply(Exception):
    """Ends a request with this answer (raised from deep inside a handler)."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None, content_type: str = "application/json") -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.content_type = content_type


def oauth_error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, {"error": error, "error_description": description}, {"Cache-Control": "no-store", **(headers or {})})


class _Handler(BaseHTTPRequestHandler):
    deployment: BrokenDeployment  # set on the per-server subclass
    protocol_version = "HTTP/1.1"
    server_version = "broken-deployment/1"
    # Headers and body go out in two writes; with Nagle on, a keep-alive client waits ~40 ms for each.
    disable_nagle_algorithm = True

    # ---------------------------------------------------------------- plumbing

    def log_message(self, format: str, *args: Any) -> None:  # quiet; requests are journaled
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        offset = CLOCK_SKEW_S if self.deployment.fault == "clock_skew" else 0
        return super().date_time_string((time.time() if timestamp is None else timestamp) + offset)

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        self.route = parts.path
        self.query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.origin = self.headers.get("Origin")
        self.body = self._read_body()
        try:
            self._handle()
        except _Reply as reply:
            self._send(reply.status, reply.body, reply.headers, reply.content_type)
        except Exception as error:  # a bug here should show, not hang the client
            self._send(500, {"error": "server_error", "error_description": repr(error)})

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None, content_type: str = "application/json") -> None:
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        if data:
            self.send_header("Content-Type", content_type)
        if status != 204 and not 100 <= status < 200:
            self.send_header("Content-Length", str(len(data)))
        for name, value in {**self._cors_headers(), **(headers or {})}.items():
            if value is not None:
                self.send_header(name, value)
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)
        with self.deployment.lock:
            self.deployment.requests.append({"method": self.command, "path": self.route, "status": status, "origin": self.origin})

    # ---------------------------------------------------------------- CORS

    def _origin_checked(self) -> bool:
        """The MCP endpoint refuses foreign Origins (the open endpoint, unless the fault says not)."""
        return self.deployment.open and self.deployment.fault != "unprotected_no_origin_check"

    def _origin_allowed(self) -> bool:
        return self.origin is None or self.origin in (CLIENT_ORIGIN, self.deployment.base_url)

    def _is_mcp_path(self) -> bool:
        return self.route == "/mcp" or (self.deployment.fault == "endpoint_redirect" and self.route == "/mcp/")

    def _is_metadata_path(self) -> bool:
        return self.route.startswith("/.well-known/")

    def _cors_headers(self) -> dict[str, str | None]:
        """The CORS headers of an ordinary (non-preflight) answer."""
        fault = self.deployment.fault
        if fault == "metadata_not_readable" and self.command in ("GET", "HEAD") and self._is_metadata_path():
            return {}
        if self._is_mcp_path() and self._origin_checked():
            if self.origin is None or not self._origin_allowed():
                return {"Vary": "Origin"}
            return {"Access-Control-Allow-Origin": self.origin, "Access-Control-Expose-Headers": EXPOSED_HEADERS, "Vary": "Origin"}
        return {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": EXPOSED_HEADERS}

    def _preflight(self) -> None:
        fault = self.deployment.fault
        if fault == "preflight_redirect":
            location = f"https://127.0.0.1:{self.deployment.port}{self.path}"
            raise _Reply(308, None, {"Location": location, "Access-Control-Allow-Origin": None, "Access-Control-Expose-Headers": None})
        if fault == "preflight_needs_auth" and self._is_mcp_path():
            challenge = self.deployment.challenge()
            raise _Reply(
                401, {"error": "invalid_token", "error_description": "authentication required"},
                {"WWW-Authenticate": challenge, "Access-Control-Allow-Origin": None, "Access-Control-Expose-Headers": None},
            )
        if self._is_mcp_path() and self._origin_checked() and not self._origin_allowed():
            raise _Reply(403, {"error": "forbidden", "error_description": f"origin {self.origin} is not allowed"})
        allow_origin = self.origin if self._is_mcp_path() and self._origin_checked() else "*"
        allow_headers = "Authorization, Content-Type" if fault == "cors_headers_missing" else MCP_HEADERS
        raise _Reply(
            204,
            None,
            {
                "Access-Control-Allow-Origin": allow_origin,
                "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": allow_headers,
                "Access-Control-Max-Age": "600",
                "Access-Control-Expose-Headers": None,
                "Vary": "Origin" if allow_origin != "*" else None,
            },
        )

    # ---------------------------------------------------------------- routes

    def _handle(self) -> None:
        deployment = self.deployment
        fault = deployment.fault
        route = self.route
        if self.command == "OPTIONS":
            if self.origin is not None and "Access-Control-Request-Method" in self.headers:
                self._preflight()
            if fault == "preflight_redirect":  # the tunnel redirects every OPTIONS
                self._preflight()
            raise _Reply(204, None, {"Allow": "GET, POST, DELETE, OPTIONS"})
        if route == "/healthz" and self.command in ("GET", "HEAD"):
            raise _Reply(200, {"status": "ok"})
        if route == "/mcp" and fault == "endpoint_redirect":
            raise _Reply(307, None, {"Location": deployment.base_url + "/mcp/"})
        if self._is_mcp_path():
            self._mcp()
        if route.startswith("/.well-known/"):
            if self.command not in ("GET", "HEAD"):
                raise _Reply(405, {"error": "method_not_allowed"}, {"Allow": "GET"})
            self._well_known(route)
        if route == "/jwks" and self.command in ("GET", "HEAD"):
            if fault == "jwks_unreachable":
                raise _Reply(404, {"error": "not_found"})
            raise _Reply(200, deployment.jwks(), {"Cache-Control": "public, max-age=300"})
        if route == "/register" and self.command == "POST" and fault != "no_registration":
            self._register()
        if route == "/authorize" and self.command in ("GET", "HEAD"):
            self._authorize()
        if route == "/token" and self.command == "POST":
            self._token()
        raise _Reply(404, {"error": "not_found"})

    def _well_known(self, route: str) -> None:
        deployment = self.deployment
        fault = deployment.fault
        if route in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
            if fault == "prm_missing":
                raise _Reply(404, {"error": "not_found"})
            raise _Reply(200, deployment.protected_resource_metadata())
        if route == "/.well-known/oauth-authorization-server" and fault != "as_metadata_missing":
            raise _Reply(200, deployment.authorization_server_metadata())
        raise _Reply(404, {"error": "not_found"})

    # ---------------------------------------------------------------- MCP

    def _mcp(self) -> None:
        deployment = self.deployment
        if self._origin_checked() and not self._origin_allowed():
            raise _Reply(403, {"jsonrpc": "2.0", "error": {"code": -32600, "message": f"Forbidden: origin {self.origin} is not allowed"}})
        if not deployment.open:
            authorization = self.headers.get("Authorization", "")
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                challenge = deployment.challenge()
                raise _Reply(401, {"error": "invalid_token", "error_description": "authentication required"}, {"WWW-Authenticate": challenge})
            if not deployment.accepts(token.strip()):
                raise _Reply(
                    401, {"error": "invalid_token", "error_description": "the access token is not valid for this resource"},
                    {"WWW-Authenticate": f'Bearer error="invalid_token", resource_metadata="{deployment.prm_url}"'},
                )
        if self.command != "POST":
            raise _Reply(405, {"jsonrpc": "2.0", "error": {"code": -32000, "message": "Method not allowed: POST only"}}, {"Allow": "POST"})
        try:
            message = json.loads(self.body)
        except ValueError:
            raise _Reply(400, {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}})
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            raise _Reply(400, {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid Request"}})
        if "id" not in message or "method" not in message:  # a notification or a response
            raise _Reply(202)
        method = message["method"]
        version = self.headers.get("MCP-Protocol-Version")
        if method != "initialize" and version is not None and version not in PROTOCOL_VERSIONS:
            raise _Reply(400, {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": f"Unsupported protocol version {version}"}})
        raise _Reply(200, {"jsonrpc": "2.0", "id": message["id"], **self._rpc(method, message.get("params") or {})})

    def _rpc(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "initialize":
            asked = params.get("protocolVersion")
            return {
                "result": {
                    "protocolVersion": asked if asked in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0],
                    "capabilities": {"tools": {"listChanged": False}},
                    "serverInfo": {"name": "broken-deployment", "version": "1"},
                }
            }
        if method == "ping":
            return {"result": {}}
        if method == "tools/list":
            return {"result": {"tools": self.deployment.tools()}}
        if method == "tools/call":
            if params.get("name") not in [tool["name"] for tool in self.deployment.tools()]:
                return {"error": {"code": -32602, "message": f"Unknown tool: {params.get('name')}"}}
            city = (params.get("arguments") or {}).get("city", "nowhere")
            return {"result": {"content": [{"type": "text", "text": f"sunny in {city}"}], "isError": False}}
        return {"error": {"code": -32601, "message": f"Method not found: {method}"}}

    # ---------------------------------------------------------------- the authorization server

    def _register(self) -> None:
        deployment = self.deployment
        if deployment.fault == "registration_refused":
            raise _Reply(400, {"error": "invalid_client_metadata", "error_description": "dynamic client registration is disabled for this application"})
        if not self.headers.get("Content-Type", "").lower().startswith("application/json"):
            raise _Reply(400, {"error": "invalid_client_metadata", "error_description": "send the client metadata as application/json"})
        try:
            metadata = json.loads(self.body)
        except ValueError:
            raise _Reply(400, {"error": "invalid_client_metadata", "error_description": "the body is not JSON"})
        if not isinstance(metadata, dict):
            raise _Reply(400, {"error": "invalid_client_metadata", "error_description": "the body is not a JSON object"})
        redirect_uris = metadata.get("redirect_uris")
        if not isinstance(redirect_uris, list) or not redirect_uris or not all(isinstance(uri, str) for uri in redirect_uris):
            raise _Reply(400, {"error": "invalid_redirect_uri", "error_description": "redirect_uris must be a non-empty list of URLs"})
        for uri in redirect_uris:
            if not acceptable_redirect_uri(uri):
                raise _Reply(400, {"error": "invalid_redirect_uri", "error_description": f"{uri} is neither https, loopback http nor a private-use scheme"})
        method = metadata.get("token_endpoint_auth_method", "client_secret_basic")
        if method not in ("none", "client_secret_basic", "client_secret_post"):
            raise _Reply(400, {"error": "invalid_client_metadata", "error_description": f"token_endpoint_auth_method {method} is not supported"})
        grant_types = metadata.get("grant_types", ["authorization_code"])
        if not isinstance(grant_types, list) or "authorization_code" not in grant_types:
            raise _Reply(400, {"error": "invalid_client_metadata", "error_description": "grant_types must include authorization_code"})
        response_types = metadata.get("response_types", ["code"])
        if response_types != ["code"]:
            raise _Reply(400, {"error": "invalid_client_metadata", "error_description": 'response_types must be ["code"]'})
        client: dict[str, Any] = {
            "client_id": "gallery_" + secrets.token_urlsafe(12),
            "client_id_issued_at": int(time.time()),
            "redirect_uris": redirect_uris,
            "token_endpoint_auth_method": method,
            # RFC 7591 §3.2.1: the server may replace requested values; this one has no refresh tokens.
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "scope": SCOPE,
        }
        for field in ("client_name", "client_uri", "logo_uri", "software_id", "software_version"):
            if isinstance(metadata.get(field), str):
                client[field] = metadata[field]
        if method != "none":
            client["client_secret"] = secrets.token_urlsafe(24)
            client["client_secret_expires_at"] = 0
        with deployment.lock:
            deployment.clients[client["client_id"]] = client
        raise _Reply(201, client, {"Cache-Control": "no-store"})

    def _authorize(self) -> None:
        deployment = self.deployment
        query = self.query
        with deployment.lock:
            client = deployment.clients.get(query.get("client_id", ""))
        if client is None:
            raise _Reply(400, "<h1>Unknown client</h1>", content_type="text/html; charset=utf-8")
        redirect_uri = query.get("redirect_uri") or (client["redirect_uris"][0] if len(client["redirect_uris"]) == 1 else "")
        if redirect_uri not in client["redirect_uris"]:
            raise _Reply(400, "<h1>The redirect_uri is not registered for this client</h1>", content_type="text/html; charset=utf-8")

        def back(**parameters: str) -> _Reply:
            parameters = {**parameters, "iss": deployment.advertised_issuer()}
            if "state" in query:
                parameters["state"] = query["state"]
            separator = "&" if "?" in redirect_uri else "?"
            return _Reply(302, None, {"Location": redirect_uri + separator + urlencode(parameters), "Cache-Control": "no-store"})

        if query.get("response_type") != "code":
            raise back(error="unsupported_response_type", error_description="response_type must be code")
        if not query.get("code_challenge") or query.get("code_challenge_method") != "S256":
            raise back(error="invalid_request", error_description="PKCE with code_challenge_method S256 is required")
        resource = query.get("resource") or deployment.mcp_url
        code = secrets.token_urlsafe(24)
        with deployment.lock:
            deployment.codes[code] = {
                "client_id": client["client_id"],
                "redirect_uri": redirect_uri,
                "code_challenge": query["code_challenge"],
                "resource": resource,
                "scope": query.get("scope") or SCOPE,
                "expires_at": time.time() + CODE_TTL_S,
            }
        raise back(code=code)

    def _token(self) -> None:
        try:
            self._exchange()
        except _Reply as reply:
            if self.deployment.fault == "token_error_html" and reply.status >= 400:
                page = f"<html><head><title>{reply.status} Bad Request</title></head><body><h1>Bad Request</h1></body></html>"
                raise _Reply(400, page, content_type="text/html; charset=utf-8")
            raise

    def _exchange(self) -> None:
        deployment = self.deployment
        if not self.headers.get("Content-Type", "").lower().startswith("application/x-www-form-urlencoded"):
            raise oauth_error(400, "invalid_request", "the token request must be application/x-www-form-urlencoded")
        form = dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "authorization_code":
            raise oauth_error(400, "unsupported_grant_type", "only authorization_code is supported")
        with deployment.lock:
            grant = deployment.codes.pop(form.get("code", ""), None)
        if grant is None or grant["expires_at"] < time.time():
            raise oauth_error(400, "invalid_grant", "the authorization code is invalid, expired or already used")
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = self.headers.get("Authorization", "")
        if basic.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(basic[6:]).decode("utf-8").partition(":")
            except ValueError:
                raise oauth_error(401, "invalid_client", "malformed Basic credentials", {"WWW-Authenticate": 'Basic realm="token"'})
        with deployment.lock:
            client = deployment.clients.get(client_id or "")
        if client is None or client["client_id"] != grant["client_id"]:
            raise oauth_error(400, "invalid_grant", "the code was issued to another client")
        if client["token_endpoint_auth_method"] != "none" and not secrets.compare_digest(secret or "", client["client_secret"]):
            raise oauth_error(401, "invalid_client", "client authentication failed", {"WWW-Authenticate": 'Basic realm="token"'})
        if form.get("redirect_uri", grant["redirect_uri"]) != grant["redirect_uri"]:
            raise oauth_error(400, "invalid_grant", "redirect_uri differs from the authorization request's")
        if s256(form.get("code_verifier", "")) != grant["code_challenge"]:
            raise oauth_error(400, "invalid_grant", "PKCE verification failed")
        if form.get("resource", grant["resource"]) != grant["resource"]:
            raise oauth_error(400, "invalid_target", "resource differs from the authorization request's")
        token = deployment.mint(client["client_id"], grant["resource"], grant["scope"])
        raise _Reply(
            200,
            {"access_token": token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_TTL_S, "scope": grant["scope"]},
            {"Cache-Control": "no-store", "Pragma": "no-cache"},
        )


def acceptable_redirect_uri(uri: str) -> bool:
    """https, http on a loopback host (RFC 8252 §7.3), or a private-use scheme with a dot (§7.1); no fragment."""
    parts = urlsplit(uri)
    if parts.fragment or not parts.scheme:
        return False
    if parts.scheme == "https":
        return bool(parts.hostname)
    if parts.scheme == "http":
        return parts.hostname in LOOPBACK_HOSTS
    return "." in parts.scheme


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="default: one the OS picks")
    parser.add_argument("--fault", choices=sorted(FAULTS), help="the one thing to get wrong (default: none)")
    arguments = parser.parse_args()
    deployment = BrokenDeployment(arguments.fault, arguments.port).start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    print(f"broken deployment ({arguments.fault or 'healthy'}) at {deployment.mcp_url}", file=sys.stderr, flush=True)
    while not stopped.wait(0.2):
        pass
    deployment.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
