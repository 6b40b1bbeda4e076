"""Small, deliberately broken OAuth servers for the CLI's error paths (Tests/Interop/test_client.py).

`FakeServer` is one http.server on 127.0.0.1 (a thread in the test process, port picked by the
OS) that plays an MCP endpoint at /mcp, its RFC 9728 protected-resource metadata, an RFC 8414
authorization server, /register, /authorize and /token, with knobs that break one thing each:

  no_metadata        /mcp answers 401 with a bare `WWW-Authenticate: Bearer` (no
                     resource_metadata) and every other path, all well-knowns included, 404
  challenge_metadata whether the 401 names resource_metadata (default True)
  prm_paths          where the protected-resource metadata is served (default: the
                     path-aware /.well-known/oauth-protected-resource/mcp and the root one)
  issuer_path        the authorization server's issuer is base URL + this ("" or "/tenant")
  as_paths           where the AS metadata is served (default: RFC 8414 and OpenID
                     Connect discovery for the issuer, path-inserted and, for OIDC, appended)
  pkce_methods       code_challenge_methods_supported in the AS metadata (None: omitted)
  issuer             the `issuer` the AS metadata claims (default: the URL it is served for)
  authorize_state    "echo" (correct) or a fixed wrong value put in the /authorize redirect
  send_iss           whether the /authorize redirect carries RFC 9207 `iss`
  authorize_iss      the `iss` it carries (default: the issuer)

/authorize approves at once (302 to redirect_uri with code, state and iss); /token checks the
PKCE verifier (S256) against the challenge of its code and answers with a bearer token.

Every request is recorded (method, path, query, body) so a test can assert what the client
did, and above all what it did not do (register, authorize or redeem a code after it should
have stopped).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: dict[str, str]


@dataclass
class FakeConfig:
    no_metadata: bool = False
    pkce_methods: list[str] | None = field(default_factory=lambda: ["S256"])
    issuer: str | None = None  # None: the server's own base URL
    authorize_state: str = "echo"
    send_iss: bool = True
    authorize_iss: str | None = None  # the `iss` of the /authorize redirect (default: the issuer)
    challenge_metadata: bool = True
    prm_paths: list[str] | None = None  # None: both the path-aware and the root document
    issuer_path: str = ""
    as_paths: list[str] | None = None  # None: every discovery location of the issuer


PRM_PATH_AWARE = "/.well-known/oauth-protected-resource/mcp"
PRM_ROOT = "/.well-known/oauth-protected-resource"


def as_metadata_paths(issuer_path: str) -> dict[str, str]:
    """The discovery locations of an issuer with this path, by name."""
    return {
        "oauth": "/.well-known/oauth-authorization-server" + issuer_path,
        "oidc-insert": "/.well-known/openid-configuration" + issuer_path,
        "oidc-append": issuer_path + "/.well-known/openid-configuration",
    }


class FakeServer:
    def __init__(self, config: FakeConfig | None = None) -> None:
        self.config = config or FakeConfig()
        self.requests: list[Seen] = []
        self.challenges: dict[str, str] = {}  # code -> PKCE challenge
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.mcp_url = self.base_url + "/mcp"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=f"fake-oauth-{self.port}", daemon=True)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "FakeServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ what was asked

    def paths(self) -> list[str]:
        with self._lock:
            return [f"{r.method} {r.path}" for r in self.requests]

    def requests_to(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def describe(self) -> str:
        with self._lock:
            return "\n".join(
                f"{r.method} {r.path}{'?' + urlencode(r.query) if r.query else ''}" for r in self.requests
            ) or "<no requests>"

    # ------------------------------------------------------------------ documents

    @property
    def issuer(self) -> str:
        return self.config.issuer if self.config.issuer is not None else self.base_url + self.config.issuer_path

    def protected_resource_metadata(self) -> dict[str, Any]:
        return {
            "resource": self.mcp_url,
            "authorization_servers": [self.base_url + self.config.issuer_path],
            "scopes_supported": ["mcp"],
            "bearer_methods_supported": ["header"],
        }

    def authorization_server_metadata(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": self.base_url + "/authorize",
            "token_endpoint": self.base_url + "/token",
            "registration_endpoint": self.base_url + "/register",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["mcp"],
            "authorization_response_iss_parameter_supported": True,
        }
        if self.config.pkce_methods is not None:
            document["code_challenge_methods_supported"] = self.config.pkce_methods
        return document

    # ------------------------------------------------------------------ HTTP

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _record(self) -> Seen:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query, keep_blank_values=True)),
                    body,
                    {k.lower(): v for k, v in self.headers.items()},
                )
                with fake._lock:
                    fake.requests.append(seen)
                return seen

            def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
                data = b"" if body is None else (json.dumps(body).encode() if not isinstance(body, bytes) else body)
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if body is not None and not isinstance(body, bytes):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                fake._route(self, self._record())

            def do_POST(self) -> None:
                fake._route(self, self._record())

            def do_DELETE(self) -> None:
                fake._route(self, self._record())

        return Handler

    def _route(self, handler: Any, seen: Seen) -> None:
        config = self.config
        path = seen.path
        if path == "/mcp":
            challenge = 'Bearer error="invalid_token"'
            if config.challenge_metadata and not config.no_metadata:
                challenge += f', resource_metadata="{self.base_url}{PRM_PATH_AWARE}"'
            handler._send(401, {"error": "invalid_token"}, {"WWW-Authenticate": challenge})
            return
        if config.no_metadata:
            handler._send(404, {"error": "not_found"})
            return
        prm_paths = config.prm_paths if config.prm_paths is not None else [PRM_PATH_AWARE, PRM_ROOT]
        if seen.method == "GET" and path in prm_paths:
            handler._send(200, self.protected_resource_metadata())
            return
        as_paths = config.as_paths if config.as_paths is not None else list(as_metadata_paths(config.issuer_path).values())
        if seen.method == "GET" and path in as_paths:
            handler._send(200, self.authorization_server_metadata())
            return
        if seen.method == "POST" and path == "/register":
            try:
                metadata = json.loads(seen.body or b"{}")
            except ValueError:
                handler._send(400, {"error": "invalid_client_metadata"})
                return
            client = {
                **metadata,
                "client_id": "fake-" + secrets.token_hex(8),
                "client_id_issued_at": 0,
                "token_endpoint_auth_method": "none",
            }
            handler._send(201, client)
            return
        if seen.method == "GET" and path == "/authorize":
            redirect_uri = seen.query.get("redirect_uri", "")
            if not redirect_uri:
                handler._send(400, {"error": "invalid_request", "error_description": "redirect_uri missing"})
                return
            state = seen.query.get("state", "") if config.authorize_state == "echo" else config.authorize_state
            code = "fake-code-" + secrets.token_hex(8)
            with self._lock:
                self.challenges[code] = seen.query.get("code_challenge", "")
            params = {"code": code, "state": state}
            if config.send_iss:
                params["iss"] = config.authorize_iss if config.authorize_iss is not None else self.issuer
            separator = "&" if "?" in redirect_uri else "?"
            handler._send(302, None, {"Location": redirect_uri + separator + urlencode(params)})
            return
        if seen.method == "POST" and path == "/token":
            form = dict(parse_qsl(seen.body.decode("latin-1")))
            with self._lock:
                challenge = self.challenges.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            if challenge is None or s256(verifier) != challenge:
                handler._send(400, {"error": "invalid_grant", "error_description": "unknown code or wrong code_verifier"})
                return
            handler._send(200, {"access_token": "fake-access-" + secrets.token_hex(8), "token_type": "Bearer", "expires_in": 3600})
            return
        handler._send(404, {"error": "not_found"})
