"""The local OAuth issuer: an RSA key, its JWKS and RFC 8414 metadata on 127.0.0.1, and RS256 tokens."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

METADATA_PATHS = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")


def b64url_uint(value: int) -> str:
    """An unsigned integer as unpadded base64url of its big-endian bytes (a JWK's n and e)."""
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class LocalIssuer:
    """RFC 8414 metadata and a JWKS on 127.0.0.1, and RS256 tokens signed with its key.

    `hits` counts the GET requests per path, so the report shows how often the servers fetched the
    metadata and the keys.
    """

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "bench-" + secrets.token_hex(4)
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.hits: dict[str, int] = {}

    @property
    def issuer(self) -> str:
        """The issuer identifier, which is also its base URL (valid once started)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_uri(self) -> str:
        return self.issuer + "/jwks"

    def metadata(self) -> dict[str, Any]:
        """The RFC 8414 authorization server metadata document."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.jwks_uri,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["mcp:read", "mcp:write"],
        }

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set with the public half of the signing key."""
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.kid,
                    "n": b64url_uint(numbers.n),
                    "e": b64url_uint(numbers.e),
                }
            ]
        }

    def mint(self, audience: str, lifetime_s: int = 3600, issuer: str | None = None) -> str:
        """An RS256 access token for `audience`; `issuer` overrides the iss claim (to test refusals)."""
        now = int(time.time())
        claims = {
            "iss": issuer or self.issuer,
            "sub": "bench-user",
            "aud": audience,
            "iat": now,
            "nbf": now - 5,
            "exp": now + lifetime_s,
            "scope": "mcp:read mcp:write",
            "client_id": "bench-client",
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def start(self) -> LocalIssuer:
        """Serve the metadata and the JWKS on a free 127.0.0.1 port from a daemon thread."""
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?", 1)[0]
                issuer.hits[path] = issuer.hits.get(path, 0) + 1
                if path in METADATA_PATHS:
                    self._json(200, issuer.metadata())
                elif path == "/jwks":
                    self._json(200, issuer.jwks())
                else:
                    self._json(404, {"error": "not_found"})

            def _json(self, status: int, value: Any) -> None:
                body = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "max-age=3600")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                """Silence the per-request access log."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="issuer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the HTTP server down and join its thread; safe to call twice."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
