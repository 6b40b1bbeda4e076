"""A provider shaped like GitHub's OAuth apps, for account connections (Tests/Interop/test_accounts.py).

What GitHub's documentation says its OAuth apps do, and an OAuth library written against RFC 6749
alone gets wrong, in one http.server on 127.0.0.1 (a thread in the test process):

  GET  /login/oauth/authorize      approves at once: 302 to redirect_uri with code and state (no
                                   `iss`: GitHub publishes no issuer); remembers the scope asked
  POST /login/oauth/access_token   the client id and secret in the form body (client_secret_post;
                                   HTTP Basic is refused here), the PKCE verifier checked; JSON only
                                   when asked with Accept: application/json; scopes granted as a
                                   comma-separated list ("read:user,repo"); no expires_in, no
                                   refresh token; a bad code answered 200 with
                                   {"error": "bad_verification_code"}, as GitHub does
  GET  /user                       the API: the token's user, or 401 without a known token
  GET  /user/repos                 needs the `repo` scope: 403 with an RFC 6750 insufficient_scope
                                   challenge naming it, else the user's repositories

Every request is recorded so a test can check what the hub sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

CLIENT_ID, CLIENT_SECRET = "Iv1.github-like", "github-like-secret"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]


class GitHubLike:
    def __init__(self, login: str = "octocat") -> None:
        self.login = login
        self.requests: list[Seen] = []
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (PKCE challenge, scope)
        self.tokens: dict[str, list[str]] = {}  # token -> scopes
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=f"github-like-{self.port}", daemon=True)

    def __enter__(self) -> "GitHubLike":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def requests_to(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _record(self, form: dict[str, str]) -> Seen:
                url = urlsplit(self.path)
                seen = Seen(self.command, url.path, dict(parse_qsl(url.query)), form, {k.lower(): v for k, v in self.headers.items()})
                with provider._lock:
                    provider.requests.append(seen)
                return seen

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                seen = self._record({})
                if seen.path == "/login/oauth/authorize":
                    code = secrets.token_urlsafe(16)
                    with provider._lock:
                        provider.codes[code] = (seen.query.get("code_challenge", ""), seen.query.get("scope", ""))
                    location = seen.query["redirect_uri"] + "?" + urlencode({"code": code, "state": seen.query.get("state", "")})
                    self.send_response(302)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                token = seen.headers.get("authorization", "").removeprefix("Bearer ")
                with provider._lock:
                    scopes = provider.tokens.get(token)
                if scopes is None:
                    self._send(401, {"message": "Bad credentials"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
                elif seen.path == "/user":
                    self._send(200, {"login": provider.login})
                elif seen.path == "/user/repos" and "repo" not in scopes:
                    self._send(403, {"message": "needs repo"}, {"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="repo"'})
                elif seen.path == "/user/repos":
                    self._send(200, [{"full_name": provider.login + "/hello-world"}])
                else:
                    self._send(404, {"message": "Not Found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                seen = self._record(form)
                if seen.path != "/login/oauth/access_token":
                    self._send(404, {"message": "Not Found"})
                    return
                if "authorization" in seen.headers or form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                    self._send(401, {"error": "incorrect_client_credentials"})
                    return
                with provider._lock:
                    challenge, scope = provider.codes.pop(form.get("code", ""), ("", ""))
                verifier = form.get("code_verifier", "")
                expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
                if not challenge or expected != challenge or "application/json" not in seen.headers.get("accept", ""):
                    self._send(200, {"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."})
                    return
                token = "gho_" + secrets.token_urlsafe(24)
                granted = [part for part in scope.replace(",", " ").split() if part]
                with provider._lock:
                    provider.tokens[token] = granted
                self._send(200, {"access_token": token, "token_type": "bearer", "scope": ",".join(granted)})

        return Handler
