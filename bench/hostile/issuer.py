"""A tiny JWT issuer on 127.0.0.1 for the rogue-kid probe: RFC 8414 metadata and a JWKS whose
keys the probe can rotate at any moment; every /jwks fetch is timestamped."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jose


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    issuer: "Issuer"

    def log_message(self, format, *args) -> None:  # noqa: A002 - silence the default stderr log
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
            body = self.issuer.metadata()
        elif path == "/jwks":
            self.issuer.record_fetch()
            body = self.issuer.jwks()
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Issuer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: list[jose.ES256Key] = []
        self.fetches: list[float] = []
        handler = type("Handler", (_Handler,), {"issuer": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="issuer", daemon=True)

    def start(self) -> "Issuer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def publish(self, *keys: jose.ES256Key) -> None:
        with self.lock:
            self.keys = list(keys)

    def record_fetch(self) -> None:
        with self.lock:
            self.fetches.append(time.monotonic())

    def fetches_between(self, start: float, end: float) -> int:
        with self.lock:
            return sum(1 for t in self.fetches if start <= t <= end)

    def metadata(self) -> dict:
        return {
            "issuer": self.url,
            "authorization_endpoint": self.url + "/authorize",
            "token_endpoint": self.url + "/token",
            "jwks_uri": self.url + "/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict:
        with self.lock:
            return {"keys": [key.jwk() for key in self.keys]}
