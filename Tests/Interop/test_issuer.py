"""A small local OAuth 2.1 authorization server and JWT issuer for the interop tests.

`LocalIssuer` runs a stdlib `http.server` in a daemon thread on a free 127.0.0.1 port. It
generates an RSA key at start and serves:

  GET  /.well-known/oauth-authorization-server   RFC 8414 metadata
  GET  /.well-known/openid-configuration         the same plus OpenID-only fields
  GET  /jwks                                     the public key (RFC 7517)
  POST /register                                 RFC 7591 dynamic client registration (public clients)
  GET  /authorize                                auto-approving authorization endpoint (PKCE S256 and
                                                 an RFC 8707 `resource` are required; RFC 9207 `iss`
                                                 is sent back)
  POST /token                                    authorization_code (PKCE verified) and refresh_token
                                                 grants; access tokens are RS256 JWTs whose `aud` is
                                                 the `resource` the client asked for
  GET  /userinfo                                 answers 401 (it exists only to be advertised)

`mint()` signs tokens directly for tests that need a specific token (another audience, an
expired one, ...), and `forge()` builds tokens the server must refuse (alg none, HS256 keyed
with the public key, unknown key, ...).

The file is named test_*.py on request; the tests at the bottom check the issuer itself, so a
broken issuer shows up as such rather than as a Gatehouse failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEFAULT_SCOPES = ("mcp:read", "mcp:write")

# Fields OpenID Connect Discovery defines and RFC 8414 does not (the ones this issuer can add).
OIDC_ONLY_FIELDS = ("userinfo_endpoint", "subject_types_supported", "id_token_signing_alg_values_supported")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def decode_unverified(token: str) -> dict[str, Any]:
    """The claims of a JWT without checking anything (for assertions about issued tokens)."""
    return jwt.decode(token, options={"verify_signature": False})


@dataclass
class RegisteredClient:
    client_id: str
    redirect_uris: list[str]
    metadata: dict[str, Any]


@dataclass
class Grant:
    """What an authorization code or a refresh token stands for."""

    client_id: str
    subject: str
    scope: str
    resource: str
    redirect_uri: str = ""
    code_challenge: str = ""
    expires_at: float = 0.0


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    status: int = 0


@dataclass
class LocalIssuer:
    """The authorization server. Use `start()`/`stop()` or `with LocalIssuer() as issuer:`."""

    scopes_supported: tuple[str, ...] = DEFAULT_SCOPES
    # Who the auto-approving /authorize endpoint logs in; tests may change it between logins.
    login_subject: str = "user-alice"
    login_email: str | None = "alice@example.test"
    access_token_lifetime: int = 600
    # Put the OpenID-only fields into the RFC 8414 document too, as many real providers do.
    oidc_fields_in_oauth_metadata: bool = False

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "interop-" + secrets.token_hex(4)
        self.clients: dict[str, RegisteredClient] = {}
        self.codes: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ---------------------------------------------------------------- lifecycle

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LocalIssuer":
        handler = type("Handler", (_Handler,), {"issuer_state": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="local-issuer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "LocalIssuer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_text(self) -> str:
        def line(r: LoggedRequest) -> str:
            form = {k: v for k, v in r.form.items() if k != "code_verifier"}
            return f"{r.method} {r.path} -> {r.status} query={r.query} form={form}"

        with self._lock:
            return "\n".join(line(r) for r in self.requests)

    def requests_to(self, path: str) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # ---------------------------------------------------------------- documents

    def oauth_metadata(self) -> dict[str, Any]:
        base = self.issuer
        document = {
            "issuer": base,
            "authorization_endpoint": base + "/authorize",
            "token_endpoint": base + "/token",
            "registration_endpoint": base + "/register",
            "jwks_uri": base + "/jwks",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": list(self.scopes_supported),
            "authorization_response_iss_parameter_supported": True,
            "client_id_metadata_document_supported": False,
        }
        if self.oidc_fields_in_oauth_metadata:
            document.update(self._oidc_fields())
        return document

    def openid_configuration(self) -> dict[str, Any]:
        return {**self.oauth_metadata(), **self._oidc_fields()}

    def _oidc_fields(self) -> dict[str, Any]:
        return {
            "userinfo_endpoint": self.issuer + "/userinfo",
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def public_jwk(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return jwk

    def public_key_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    # ---------------------------------------------------------------- tokens

    def claims(
        self,
        sub: str | None,
        aud: str | list[str] | None,
        scope: str | None = " ".join(DEFAULT_SCOPES),
        exp_in: int | None = 600,
        **extra: Any,
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.issuer, "iat": now, "jti": secrets.token_hex(8)}
        if sub is not None:
            claims["sub"] = sub
        if aud is not None:
            claims["aud"] = aud
        if scope is not None:
            claims["scope"] = scope
        if exp_in is not None:
            claims["exp"] = now + exp_in
        claims.update(extra)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(
        self,
        sub: str | None,
        aud: str | list[str] | None,
        scope: str | None = " ".join(DEFAULT_SCOPES),
        exp_in: int | None = 600,
        **extra: Any,
    ) -> str:
        """An RS256 access token signed with this issuer's key. Pass `iss=...` etc. to override
        claims; a claim given as None is left out (except the ones named as parameters, which
        are left out when None)."""
        return jwt.encode(
            self.claims(sub, aud, scope, exp_in, **extra),
            self.key,
            algorithm="RS256",
            headers={"kid": self.kid, "typ": "at+jwt"},
        )

    def forge(self, claims: dict[str, Any], how: str) -> str:
        """Tokens a resource server must refuse, all carrying the given claims.

        how: "none" (unsigned, alg none), "none-with-signature" (alg none but a non-empty
        signature segment, so only the algorithm allow-list can refuse it), "hs256-public-key"
        (HMAC keyed with the public key PEM: the algorithm-confusion attack), "other-key"
        (RS256 by a key the issuer does not publish, under an unknown kid), "other-key-same-kid"
        (same, but claiming our kid), "tampered" (our signature, then the payload changed).
        """
        if how == "none":
            return b64url_json({"alg": "none", "typ": "JWT"}) + "." + b64url_json(claims) + "."
        if how == "none-with-signature":
            return b64url_json({"alg": "none", "typ": "JWT"}) + "." + b64url_json(claims) + "." + b64url(b"signature")
        if how == "hs256-public-key":
            signing_input = b64url_json({"alg": "HS256", "typ": "JWT", "kid": self.kid}) + "." + b64url_json(claims)
            signature = hmac.new(self.public_key_pem(), signing_input.encode("ascii"), hashlib.sha256).digest()
            return signing_input + "." + b64url(signature)
        if how in ("other-key", "other-key-same-kid"):
            other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            kid = self.kid if how == "other-key-same-kid" else "someone-else"
            return jwt.encode(claims, other, algorithm="RS256", headers={"kid": kid})
        if how == "tampered":
            token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
            header, _, signature = token.split(".")
            changed = dict(claims, sub=str(claims.get("sub", "")) + "-admin")
            return header + "." + b64url_json(changed) + "." + signature
        raise ValueError(f"unknown forgery {how!r}")

    def _issue(self, grant: Grant) -> dict[str, Any]:
        extra: dict[str, Any] = {"client_id": grant.client_id}
        if self.login_email and grant.subject == self.login_subject:
            extra["email"] = self.login_email
        access_token = self.mint(grant.subject, grant.resource, grant.scope, self.access_token_lifetime, **extra)
        refresh_token = "rt-" + secrets.token_urlsafe(24)
        with self._lock:
            self.refresh_tokens[refresh_token] = Grant(
                client_id=grant.client_id, subject=grant.subject, scope=grant.scope, resource=grant.resource
            )
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.access_token_lifetime,
            "scope": grant.scope,
            "refresh_token": refresh_token,
        }


class _HTTPError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.body = {"error": error, "error_description": description}


class _Handler(BaseHTTPRequestHandler):
    issuer_state: LocalIssuer  # set on the per-issuer subclass
    server_version = "gatehouse-interop-issuer/1"
    protocol_version = "HTTP/1.0"

    # ---------------------------------------------------------------- plumbing

    def log_message(self, format: str, *args: Any) -> None:  # keep stderr quiet; requests are logged
        pass

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self._logged.status = status

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        form: dict[str, str] = {}
        raw = b""
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
                form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
        self._logged = LoggedRequest(method, parts.path, query, form)
        state = self.issuer_state
        with state._lock:
            state.requests.append(self._logged)
        routes = {
            ("GET", "/.well-known/oauth-authorization-server"): lambda: self._send(200, state.oauth_metadata()),
            ("GET", "/.well-known/openid-configuration"): lambda: self._send(200, state.openid_configuration()),
            ("GET", "/jwks"): lambda: self._send(200, {"keys": [state.public_jwk()]}),
            ("POST", "/register"): lambda: self._register(raw),
            ("GET", "/authorize"): lambda: self._authorize(query),
            ("POST", "/token"): lambda: self._token(form),
            ("GET", "/userinfo"): lambda: self._send(401, {"error": "invalid_token"}, {"WWW-Authenticate": "Bearer"}),
        }
        route = routes.get((method, parts.path))
        try:
            if route is None:
                self._send(404, {"error": "not_found", "error_description": f"{method} {parts.path}"})
            else:
                route()
        except _HTTPError as error:
            self._send(error.status, error.body)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # ---------------------------------------------------------------- RFC 7591 registration

    def _register(self, raw: bytes) -> None:
        state = self.issuer_state
        try:
            request = json.loads(raw.decode("utf-8"))
        except ValueError:
            raise _HTTPError(400, "invalid_client_metadata", "the body must be a JSON object") from None
        if not isinstance(request, dict):
            raise _HTTPError(400, "invalid_client_metadata", "the body must be a JSON object")
        redirect_uris = request.get("redirect_uris")
        if (
            not isinstance(redirect_uris, list)
            or not redirect_uris
            or not all(isinstance(u, str) for u in redirect_uris)
        ):
            raise _HTTPError(400, "invalid_redirect_uri", "redirect_uris must be a non-empty list of URLs")
        for uri in redirect_uris:
            parts = urlsplit(uri)
            loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
            if parts.fragment or not (parts.scheme == "https" or loopback):
                raise _HTTPError(400, "invalid_redirect_uri", f"{uri} is not an https or loopback URL")
        method = request.get("token_endpoint_auth_method", "none")
        if method != "none":
            raise _HTTPError(400, "invalid_client_metadata", "only public clients (token_endpoint_auth_method none)")
        grant_types = request.get("grant_types") or ["authorization_code"]
        if not set(grant_types) <= {"authorization_code", "refresh_token"}:
            raise _HTTPError(400, "invalid_client_metadata", f"unsupported grant_types {grant_types}")
        scope = request.get("scope")
        if scope is not None and not set(str(scope).split()) <= set(state.scopes_supported):
            raise _HTTPError(400, "invalid_client_metadata", f"unknown scope in {scope!r}")
        client_id = "client-" + secrets.token_hex(8)
        response = {
            **{k: v for k, v in request.items() if k not in ("client_secret", "client_id")},
            "client_id": client_id,
            "client_id_issued_at": int(time.time()),
            "redirect_uris": redirect_uris,
            "grant_types": grant_types,
            "response_types": request.get("response_types") or ["code"],
            "token_endpoint_auth_method": "none",
        }
        with state._lock:
            state.clients[client_id] = RegisteredClient(client_id, list(redirect_uris), response)
        self._send(201, response)

    # ---------------------------------------------------------------- authorization endpoint

    def _authorize(self, query: dict[str, str]) -> None:
        state = self.issuer_state
        client = state.clients.get(query.get("client_id", ""))
        if client is None:
            raise _HTTPError(400, "invalid_client", "unknown client_id")
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            # RFC 6749 §4.1.2.1: never redirect to an unregistered URI.
            raise _HTTPError(400, "invalid_request", "redirect_uri is not registered for this client")

        def redirect(**params: str) -> None:
            params["iss"] = state.issuer  # RFC 9207
            if "state" in query:
                params["state"] = query["state"]
            separator = "&" if urlsplit(redirect_uri).query else "?"
            self._send(302, None, {"Location": redirect_uri + separator + urlencode(params)})

        if query.get("response_type") != "code":
            return redirect(error="unsupported_response_type", error_description="only response_type=code")
        challenge = query.get("code_challenge", "")
        if not challenge or query.get("code_challenge_method") != "S256":
            return redirect(
                error="invalid_request", error_description="PKCE with code_challenge_method S256 is required"
            )
        if not 43 <= len(challenge) <= 128:
            return redirect(error="invalid_request", error_description="malformed code_challenge")
        resource = query.get("resource", "")
        parts = urlsplit(resource)
        if not resource or not parts.scheme or not parts.netloc or parts.fragment:
            return redirect(error="invalid_target", error_description="an absolute resource (RFC 8707) is required")
        scope = query.get("scope") or " ".join(state.scopes_supported)
        if not set(scope.split()) <= set(state.scopes_supported):
            return redirect(error="invalid_scope", error_description=f"unknown scope in {scope!r}")
        code = "code-" + secrets.token_urlsafe(24)
        with state._lock:
            state.codes[code] = Grant(
                client_id=client.client_id,
                subject=state.login_subject,
                scope=scope,
                resource=resource,
                redirect_uri=redirect_uri,
                code_challenge=challenge,
                expires_at=time.time() + 60,
            )
        redirect(code=code)

    # ---------------------------------------------------------------- token endpoint

    def _token(self, form: dict[str, str]) -> None:
        state = self.issuer_state
        grant_type = form.get("grant_type")
        client_id = form.get("client_id", "")
        if client_id not in state.clients:
            raise _HTTPError(401, "invalid_client", "unknown client_id")
        if grant_type == "authorization_code":
            with state._lock:
                grant = state.codes.pop(form.get("code", ""), None)  # single use
            if grant is None or grant.expires_at < time.time() or grant.client_id != client_id:
                raise _HTTPError(400, "invalid_grant", "unknown, used or expired authorization code")
            if form.get("redirect_uri") != grant.redirect_uri:
                raise _HTTPError(400, "invalid_grant", "redirect_uri differs from the authorization request")
            verifier = form.get("code_verifier", "")
            if not verifier or not hmac.compare_digest(s256(verifier), grant.code_challenge):
                raise _HTTPError(400, "invalid_grant", "code_verifier does not match the code_challenge")
            resource = form.get("resource")
            if resource is not None and resource != grant.resource:
                raise _HTTPError(400, "invalid_target", "resource differs from the authorization request")
            return self._send(200, state._issue(grant))
        if grant_type == "refresh_token":
            with state._lock:
                grant = state.refresh_tokens.pop(form.get("refresh_token", ""), None)  # rotated
            if grant is None or grant.client_id != client_id:
                raise _HTTPError(400, "invalid_grant", "unknown or used refresh token")
            resource = form.get("resource")
            if resource is not None and resource != grant.resource:
                raise _HTTPError(400, "invalid_target", "resource differs from the original grant")
            scope = form.get("scope")
            if scope is not None:
                if not set(scope.split()) <= set(grant.scope.split()):
                    raise _HTTPError(400, "invalid_scope", "a refresh cannot widen the scope")
                grant = Grant(client_id=grant.client_id, subject=grant.subject, scope=scope, resource=grant.resource)
            return self._send(200, state._issue(grant))
        raise _HTTPError(400, "unsupported_grant_type", f"grant_type {grant_type!r}")


# ======================================================================================
# Self-tests of the issuer (no Gatehouse involved)
# ======================================================================================

REDIRECT_URI = "http://127.0.0.1:9/callback"


def _login(http: httpx2.Client, issuer: LocalIssuer, resource: str = "https://rs.example/mcp") -> dict[str, Any]:
    registered = http.post(
        issuer.issuer + "/register", json={"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"}
    )
    assert registered.status_code == 201, registered.text
    client_id = registered.json()["client_id"]
    verifier = secrets.token_urlsafe(48)
    authorized = http.get(
        issuer.issuer + "/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "state": "xyz",
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
            "resource": resource,
            "scope": "mcp:read",
        },
    )
    assert authorized.status_code == 302, authorized.text
    location = urlsplit(authorized.headers["location"])
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params["state"] == "xyz" and params["iss"] == issuer.issuer, params
    token = http.post(
        issuer.issuer + "/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
            "client_id": client_id,
            "code_verifier": verifier,
            "resource": resource,
        },
    )
    assert token.status_code == 200, token.text
    return {"client_id": client_id, "verifier": verifier, "code": params["code"], **token.json()}


def test_issuer_metadata_and_jwks() -> None:
    with LocalIssuer() as issuer, httpx2.Client(timeout=5.0) as http:
        oauth = http.get(issuer.issuer + "/.well-known/oauth-authorization-server").json()
        assert oauth["issuer"] == issuer.issuer
        assert oauth["code_challenge_methods_supported"] == ["S256"]
        assert not set(OIDC_ONLY_FIELDS) & set(oauth)
        oidc = http.get(issuer.issuer + "/.well-known/openid-configuration").json()
        assert {k: v for k, v in oidc.items() if k not in OIDC_ONLY_FIELDS} == oauth
        jwks = http.get(oauth["jwks_uri"]).json()
        key = jwt.PyJWK(jwks["keys"][0])
        token = issuer.mint("someone", "https://rs.example/mcp")
        claims = jwt.decode(
            token, key.key, algorithms=["RS256"], audience="https://rs.example/mcp", issuer=issuer.issuer
        )
        assert claims["sub"] == "someone" and claims["scope"] == "mcp:read mcp:write"


def test_issuer_code_flow_with_pkce_and_refresh() -> None:
    with LocalIssuer() as issuer, httpx2.Client(timeout=5.0) as http:
        result = _login(http, issuer)
        claims = decode_unverified(result["access_token"])
        assert claims["aud"] == "https://rs.example/mcp"
        assert claims["sub"] == issuer.login_subject and claims["client_id"] == result["client_id"]
        assert claims["scope"] == "mcp:read" and claims["iss"] == issuer.issuer
        # The code is single use.
        again = http.post(
            issuer.issuer + "/token",
            data={
                "grant_type": "authorization_code",
                "code": result["code"],
                "redirect_uri": REDIRECT_URI,
                "client_id": result["client_id"],
                "code_verifier": result["verifier"],
            },
        )
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        refreshed = http.post(
            issuer.issuer + "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": result["refresh_token"],
                "client_id": result["client_id"],
            },
        )
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["refresh_token"] != result["refresh_token"]
        assert decode_unverified(refreshed.json()["access_token"])["aud"] == "https://rs.example/mcp"
        reused = http.post(
            issuer.issuer + "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": result["refresh_token"],
                "client_id": result["client_id"],
            },
        )
        assert reused.status_code == 400


def test_issuer_refuses_bad_authorization_requests() -> None:
    with LocalIssuer() as issuer, httpx2.Client(timeout=5.0) as http:
        client_id = http.post(issuer.issuer + "/register", json={"redirect_uris": [REDIRECT_URI]}).json()["client_id"]
        base = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "code_challenge": s256("v" * 50),
            "code_challenge_method": "S256",
            "resource": "https://rs.example/mcp",
        }
        no_pkce = http.get(issuer.issuer + "/authorize", params={**base, "code_challenge": ""})
        assert no_pkce.status_code == 302 and "error=invalid_request" in no_pkce.headers["location"]
        plain = http.get(issuer.issuer + "/authorize", params={**base, "code_challenge_method": "plain"})
        assert "error=invalid_request" in plain.headers["location"]
        no_resource = http.get(issuer.issuer + "/authorize", params={k: v for k, v in base.items() if k != "resource"})
        assert "error=invalid_target" in no_resource.headers["location"]
        bad_redirect = http.get(
            issuer.issuer + "/authorize", params={**base, "redirect_uri": "http://127.0.0.1:9/other"}
        )
        assert bad_redirect.status_code == 400
        unknown_client = http.get(issuer.issuer + "/authorize", params={**base, "client_id": "nobody"})
        assert unknown_client.status_code == 400
        bad_registration = http.post(issuer.issuer + "/register", json={"redirect_uris": ["http://evil.example/cb"]})
        assert bad_registration.status_code == 400


def test_issuer_wrong_verifier_is_refused() -> None:
    with LocalIssuer() as issuer, httpx2.Client(timeout=5.0) as http:
        client_id = http.post(issuer.issuer + "/register", json={"redirect_uris": [REDIRECT_URI]}).json()["client_id"]
        authorized = http.get(
            issuer.issuer + "/authorize",
            params={
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": REDIRECT_URI,
                "code_challenge": s256("a" * 50),
                "code_challenge_method": "S256",
                "resource": "https://rs.example/mcp",
            },
        )
        code = parse_qs(urlsplit(authorized.headers["location"]).query)["code"][0]
        token = http.post(
            issuer.issuer + "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": client_id,
                "code_verifier": "b" * 50,
            },
        )
        assert token.status_code == 400 and token.json()["error"] == "invalid_grant"
