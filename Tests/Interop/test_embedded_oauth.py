"""The embedded OAuth 2.1 authorization server, driven with raw HTTP (httpx2).

The hubs (conftest.py) run the real `gatehouse hub` binary with its default provider, the
embedded authorization server, and --dev-auto-approve: GET /authorize approves at once for
dev@localhost and answers 303 to the client's redirect URI, so no page is involved. The issuer
is the hub's base URL and the only resource (RFC 8707) is its MCP endpoint.

  embedded_hub         the shared hub; its clients are session-scoped fixtures below
  embedded_cimd_hub    fetches Client ID Metadata Documents from loopback over http
  fresh_embedded_hub   a new hub per test (registration flood, key rotation)

Dynamic registration is limited to 20 requests per minute per address (refused ones count
too), so the tests on embedded_hub share a few registered clients and register sparingly.

In cluster mode (GATEHOUSE_INTEROP_DEPLOYMENT=cluster, conftest.py) each hub is three instances on
one PostgreSQL database behind nginx round robin (peers/cluster.py), so codes, refresh families,
grace periods, revocation and CIMD clients are checked across instances. Every test here runs in
both modes: the key rotation runs `gatehouse keys rotate --database-url` and starts the second hub
as another cluster on the same database; test_registration_flood_is_throttled needs the
registration limit to be shared by the instances.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import DEV_USER, GatehouseServer, free_port, start_extra_server
from mcp_wire import envelope, modern_headers
from test_issuer import b64url, decode_unverified, s256

HTTP_TIMEOUT_S = 5.0
# Never contacted: the Location header of the 303 is read, not followed.
REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"
HTTPS_REDIRECT_URI = "https://app.example.test/oauth/callback"
# How long a just-rotated refresh token still works (AuthorizationServerSettings.refreshReuseGrace).
REFRESH_REUSE_GRACE_S = 10.0
OTHER_RESOURCE = "https://other.example.test/mcp"


# ======================================================================================
# Helpers: an OAuth client speaking raw HTTP
# ======================================================================================


@dataclass
class Client:
    """A client the server knows: registered with RFC 7591, or a CIMD URL."""

    client_id: str
    redirect_uris: list[str]
    secret: str | None = None
    registration: dict[str, Any] = field(default_factory=dict)

    @property
    def redirect_uri(self) -> str:
        return self.redirect_uris[0]


@dataclass
class Authorization:
    """A code delivered to the redirect URI, with what is needed to redeem it."""

    code: str
    verifier: str
    redirect_uri: str
    response: dict[str, str]


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge); the verifier is 64 unreserved characters (RFC 7636 §4.1)."""
    verifier = b64url(os.urandom(48))
    return verifier, s256(verifier)


def query_of(url: str) -> dict[str, str]:
    """The query parameters of `url`, each given once (a repeated one fails the test)."""
    parsed = parse_qs(urlsplit(url).query, keep_blank_values=True)
    for name, values in parsed.items():
        assert len(values) == 1, f"parameter {name} repeated in {url}"
    return {name: values[0] for name, values in parsed.items()}


class EmbeddedAS:
    """Requests to one hub's embedded authorization server."""

    def __init__(self, server: GatehouseServer, http: httpx2.Client) -> None:
        self.server = server
        self.http = http
        self.issuer = server.base_url
        self.mcp_url = server.mcp_url

    def url(self, path: str) -> str:
        return self.issuer + path

    # ------------------------------------------------------------------ registration

    def register(self, metadata: Any) -> httpx2.Response:
        if isinstance(metadata, (bytes, str)):
            return self.http.post(self.url("/register"), content=metadata, headers={"Content-Type": "application/json"})
        return self.http.post(self.url("/register"), json=metadata)

    def new_client(self, **metadata: Any) -> Client:
        body = {
            "client_name": "gatehouse-interop",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            **metadata,
        }
        response = self.register(body)
        assert response.status_code == 201, f"registration failed: HTTP {response.status_code} {response.text}"
        registered = response.json()
        return Client(registered["client_id"], list(body["redirect_uris"]), registered.get("client_secret"), registered)

    # ------------------------------------------------------------------ /authorize

    def authorize(self, client: Client | str, *, omit: tuple[str, ...] = (), **overrides: str) -> tuple[httpx2.Response, str]:
        """GET /authorize with a complete, valid request unless `overrides`/`omit` change it.
        Returns the response (not followed) and the PKCE verifier."""
        client_id = client if isinstance(client, str) else client.client_id
        redirect_uri = REDIRECT_URI if isinstance(client, str) else client.redirect_uri
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": "state-" + b64url(os.urandom(9)),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": self.mcp_url,
            **overrides,
        }
        for name in omit:
            params.pop(name, None)
        return self.http.get(self.url("/authorize"), params=params), verifier

    def authorization_code(self, client: Client | str, *, omit: tuple[str, ...] = (), **overrides: str) -> Authorization:
        """A successful authorization: 303 to the redirect URI with code, state and iss."""
        response, verifier = self.authorize(client, omit=omit, **overrides)
        redirect_uri = overrides.get("redirect_uri") or (REDIRECT_URI if isinstance(client, str) else client.redirect_uri)
        location = response.headers.get("location", "")
        assert response.status_code == 303 and location.startswith(redirect_uri + "?"), (
            f"expected 303 to {redirect_uri}, got HTTP {response.status_code} Location {location!r}: {response.text[:300]!r}"
        )
        params = query_of(location)
        assert "error" not in params and params.get("code"), params
        return Authorization(params["code"], verifier, redirect_uri, params)

    # ------------------------------------------------------------------ /token and friends

    def post_form(self, path: str, form: dict[str, str], auth: tuple[str, str] | None = None) -> httpx2.Response:
        return self.http.post(self.url(path), data=form, auth=auth)

    def redeem(self, client: Client | str, authorization: Authorization, **overrides: str | None) -> httpx2.Response:
        form = {
            "grant_type": "authorization_code",
            "code": authorization.code,
            "redirect_uri": authorization.redirect_uri,
            "code_verifier": authorization.verifier,
            "client_id": client if isinstance(client, str) else client.client_id,
            "resource": self.mcp_url,
            **overrides,
        }
        return self.post_form("/token", {k: v for k, v in form.items() if v is not None})

    def login(self, client: Client | str) -> dict[str, Any]:
        """Authorization code + PKCE, start to finish; returns the token response."""
        return expect_tokens(self.redeem(client, self.authorization_code(client)))

    def refresh(self, client: Client | str, refresh_token: str, **extra: str) -> httpx2.Response:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client if isinstance(client, str) else client.client_id,
            **extra,
        }
        return self.post_form("/token", form)

    def introspect(self, confidential: Client, token: str) -> dict[str, Any]:
        assert confidential.secret is not None
        response = self.post_form("/introspect", {"token": token}, auth=(confidential.client_id, confidential.secret))
        assert response.status_code == 200, f"HTTP {response.status_code}: {response.text}"
        assert response.headers.get("cache-control") == "no-store"
        return response.json()

    def jwks(self) -> dict[str, Any]:
        response = self.http.get(self.url("/jwks"))
        assert response.status_code == 200, response.text
        return response.json()

    # ------------------------------------------------------------------ the MCP endpoint

    def whoami(self, token: str, mcp_url: str | None = None) -> httpx2.Response:
        """tools/call whoami as a 2026-07-28 stateless request with the bearer token."""
        return self.http.post(
            mcp_url or self.mcp_url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "whoami", "arguments": {}, "_meta": envelope()},
            },
            headers={**modern_headers("tools/call", "whoami"), "Authorization": f"Bearer {token}"},
        )


def expect_tokens(response: httpx2.Response) -> dict[str, Any]:
    """RFC 6749 §5.1: 200, JSON, Cache-Control: no-store, token_type Bearer, expires_in."""
    assert response.status_code == 200, f"token request failed: HTTP {response.status_code} {response.text}"
    assert response.headers.get("content-type", "").startswith("application/json")
    assert response.headers.get("cache-control") == "no-store"
    assert response.headers.get("pragma") == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer", body
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0, body
    assert isinstance(body["access_token"], str) and body["access_token"].count(".") == 2, body
    return body


def expect_oauth_error(response: httpx2.Response, status: int, error: str) -> dict[str, Any]:
    """RFC 6749 §5.2: the status, a JSON body with this `error` code, and no caching."""
    assert response.status_code == status, f"expected HTTP {status} {error}, got {response.status_code}: {response.text}"
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    assert response.headers.get("cache-control") == "no-store", response.headers
    body = response.json()
    assert body.get("error") == error, body
    assert isinstance(body.get("error_description"), str) and body["error_description"], body
    return body


def expect_error_redirect(
    response: httpx2.Response, issuer: str, redirect_uri: str, error: str, state: str | None
) -> dict[str, str]:
    """RFC 6749 §4.1.2.1 + RFC 9207 §2: an error after the redirect URI is trusted goes back to
    it with `error`, the request's `state` and the issuer's `iss`; never a code."""
    location = response.headers.get("location", "")
    assert response.status_code == 303 and location.startswith(redirect_uri + "?"), (
        f"expected a 303 error redirect to {redirect_uri}, got HTTP {response.status_code} "
        f"Location {location!r}: {response.text[:300]!r}"
    )
    params = query_of(location)
    assert params.get("error") == error, params
    assert params.get("iss") == issuer, params
    assert params.get("state") == state, params
    assert "code" not in params, params
    return params


def expect_refusal_page(response: httpx2.Response, error: str) -> None:
    """RFC 6749 §4.1.2.1: with an unknown client or an unregistered redirect URI the server
    "MUST NOT automatically redirect": an HTML page for the user, no Location."""
    assert response.status_code == 400, f"expected 400, got {response.status_code}: {response.text[:300]!r}"
    assert "location" not in response.headers, response.headers.get("location")
    assert response.headers.get("content-type", "").startswith("text/html"), response.headers
    assert f"<code>{error}</code>" in response.text, response.text[:1500]


def whoami_result(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code == 200, f"HTTP {response.status_code}: {response.text[:500]!r}"
    result = response.json()["result"]
    assert result.get("isError") is not True, result
    return result["structuredContent"]


def expect_invalid_token(response: httpx2.Response, server: GatehouseServer) -> None:
    """RFC 6750 §3.1: a refused bearer token is 401 with error="invalid_token" in the challenge."""
    assert response.status_code == 401, f"expected 401, got {response.status_code}: {response.text[:300]!r}"
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer "), challenge
    assert 'error="invalid_token"' in challenge, challenge
    assert f'resource_metadata="{server.base_url}/.well-known/oauth-protected-resource/mcp"' in challenge, challenge


def jwt_segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header_b64, payload_b64, signature = token.split(".")
    return jwt.get_unverified_header(token), decode_unverified(token), signature


def verify_with_jwks(token: str, jwks: dict[str, Any], issuer: str, audience: str) -> dict[str, Any]:
    """Verifies an access token the way an independent resource server would: the key named
    by `kid` from the published JWKS, ES256 only, iss/aud/exp checked (PyJWT)."""
    header = jwt.get_unverified_header(token)
    keys = [key for key in jwks["keys"] if key.get("kid") == header.get("kid")]
    assert len(keys) == 1, f"kid {header.get('kid')!r} is not published once in {jwks}"
    public_key = jwt.PyJWK(keys[0]).key
    return jwt.decode(
        token,
        key=public_key,
        algorithms=["ES256"],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )


# ======================================================================================
# Fixtures: the shared hub's clients
# ======================================================================================


@pytest.fixture(scope="module")
def http_module():
    with httpx2.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as client:
        yield client


@pytest.fixture
def oauth(embedded_hub: GatehouseServer, http: httpx2.Client) -> EmbeddedAS:
    return EmbeddedAS(embedded_hub, http)


@pytest.fixture(scope="module")
def public_client(embedded_hub: GatehouseServer, http_module: httpx2.Client) -> Client:
    """A public client (token_endpoint_auth_method none) with one loopback redirect URI."""
    return EmbeddedAS(embedded_hub, http_module).new_client(client_name="interop public A")


@pytest.fixture(scope="module")
def two_uri_client(embedded_hub: GatehouseServer, http_module: httpx2.Client) -> Client:
    """A second public client with two redirect URIs: loopback http and https."""
    return EmbeddedAS(embedded_hub, http_module).new_client(
        client_name="interop public B", redirect_uris=[REDIRECT_URI, HTTPS_REDIRECT_URI]
    )


@pytest.fixture(scope="module")
def confidential_client(embedded_hub: GatehouseServer, http_module: httpx2.Client) -> Client:
    """A confidential client (client_secret_basic): the only kind allowed to introspect."""
    return EmbeddedAS(embedded_hub, http_module).new_client(
        client_name="interop resource server", token_endpoint_auth_method="client_secret_basic"
    )


# ======================================================================================
# Metadata and discovery
# ======================================================================================


def test_authorization_server_metadata(oauth: EmbeddedAS, http: httpx2.Client) -> None:
    """RFC 8414 §2/§3.3 and MCP authorization 2025-11-25: issuer is exactly the URL the document
    is served for, endpoints live under it, S256 is the only PKCE method, RFC 9207 `iss` and
    Client ID Metadata Documents are advertised; the OpenID Connect discovery path serves the
    same document."""
    base = oauth.issuer
    response = http.get(base + "/.well-known/oauth-authorization-server")
    assert response.status_code == 200, response.text
    assert response.headers.get("content-type", "").startswith("application/json")
    metadata = response.json()
    assert metadata["issuer"] == base  # byte for byte: no trailing slash, no path
    assert metadata["authorization_endpoint"] == base + "/authorize"
    assert metadata["token_endpoint"] == base + "/token"
    assert metadata["registration_endpoint"] == base + "/register"
    assert metadata["revocation_endpoint"] == base + "/revoke"
    assert metadata["introspection_endpoint"] == base + "/introspect"
    assert metadata["jwks_uri"] == base + "/jwks"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["response_modes_supported"] == ["query"]
    assert metadata["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert sorted(metadata["token_endpoint_auth_methods_supported"]) == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    assert sorted(metadata["introspection_endpoint_auth_methods_supported"]) == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["client_id_metadata_document_supported"] is True
    assert metadata["scopes_supported"] == []  # the built-in tools need no scope

    oidc = http.get(base + "/.well-known/openid-configuration")
    assert oidc.status_code == 200, oidc.text
    assert oidc.json() == metadata


def test_jwks_publishes_a_p256_key_with_its_thumbprint_as_kid(oauth: EmbeddedAS) -> None:
    """RFC 7517/7518 §6.2: the JWKS holds public EC P-256 signature keys for ES256 (no private
    part `d`); the kid is the RFC 7638 thumbprint of the key."""
    jwks = oauth.jwks()
    assert len(jwks["keys"]) >= 1, jwks
    for key in jwks["keys"]:
        assert key["kty"] == "EC" and key["crv"] == "P-256", key
        assert key["alg"] == "ES256" and key["use"] == "sig", key
        assert "d" not in key, "the JWKS must not publish the private key"
        for coordinate in ("x", "y"):
            raw = base64.urlsafe_b64decode(key[coordinate] + "=" * (-len(key[coordinate]) % 4))
            assert len(raw) == 32, (coordinate, key)
        canonical = json.dumps({"crv": key["crv"], "kty": key["kty"], "x": key["x"], "y": key["y"]}, separators=(",", ":"))
        assert key["kid"] == s256(canonical), "kid is not the RFC 7638 thumbprint"
        # The coordinates are a point on the curve.
        jwt.PyJWK(key)


def test_protected_resource_metadata_names_the_embedded_issuer(oauth: EmbeddedAS, http: httpx2.Client) -> None:
    """RFC 9728 §3: the MCP endpoint's metadata names it as the resource and the embedded
    issuer (exactly the RFC 8414 `issuer`) as its authorization server."""
    response = http.get(oauth.issuer + "/.well-known/oauth-protected-resource/mcp")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "resource": oauth.mcp_url,
        "authorization_servers": [oauth.issuer],
        "scopes_supported": [],
        "bearer_methods_supported": ["header"],
        "resource_name": "Gatehouse",
    }


def test_mcp_without_token_is_401_with_resource_metadata(oauth: EmbeddedAS, http: httpx2.Client) -> None:
    """RFC 9728 §5.1 / MCP authorization: a request without a token is 401 with a Bearer
    challenge whose resource_metadata leads to the document above."""
    response = http.post(
        oauth.mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": envelope()}},
        headers=modern_headers("tools/list"),
    )
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{oauth.issuer}/.well-known/oauth-protected-resource/mcp"'
    )


# ======================================================================================
# Registration (RFC 7591)
# ======================================================================================


def test_registration_responses(public_client: Client, confidential_client: Client, embedded_hub: GatehouseServer) -> None:
    """RFC 7591 §3.2.1: 201 with client_id and the registered metadata; a public client gets no
    secret, a confidential one gets client_secret with client_secret_expires_at (0 = never);
    both are stored."""
    public = public_client.registration
    assert public["client_id"].startswith("ghc_") and "client_secret" not in public, public
    assert public["token_endpoint_auth_method"] == "none"
    assert public["redirect_uris"] == [REDIRECT_URI]
    assert public["grant_types"] == ["authorization_code", "refresh_token"]
    assert public["client_name"] == "interop public A"
    assert isinstance(public["client_id_issued_at"], int) and abs(public["client_id_issued_at"] - time.time()) < 120

    confidential = confidential_client.registration
    assert confidential["token_endpoint_auth_method"] == "client_secret_basic"
    assert isinstance(confidential.get("client_secret"), str) and len(confidential["client_secret"]) >= 32
    assert confidential["client_secret_expires_at"] == 0

    # Both are stored; of the secret only its SHA-256 is kept (a copied database holds no credential).
    rows = dict(
        embedded_hub.query(
            "SELECT id, secret_hash FROM oauth_clients WHERE id IN (?, ?)",
            (public_client.client_id, confidential_client.client_id),
        )
    )
    assert rows == {
        public_client.client_id: None,
        confidential_client.client_id: hashlib.sha256(confidential["client_secret"].encode()).hexdigest(),
    }


INVALID_REGISTRATIONS = {
    "http-non-loopback-redirect": ({"redirect_uris": ["http://app.example.test/callback"]}, "invalid_redirect_uri"),
    "javascript-redirect": ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
    "empty-redirect-uris": ({"redirect_uris": []}, "invalid_redirect_uri"),
    "no-redirect-uris": ({"client_name": "no redirect"}, "invalid_redirect_uri"),
    "fragment-in-redirect": ({"redirect_uris": [REDIRECT_URI + "#frag"]}, "invalid_redirect_uri"),
    "unsupported-grant-type": (
        {"redirect_uris": [REDIRECT_URI], "grant_types": ["client_credentials"]},
        "invalid_client_metadata",
    ),
    "unknown-auth-method": (
        {"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt"},
        "invalid_client_metadata",
    ),
    "not-json": (b"{redirect_uris: nope", "invalid_client_metadata"),
}


@pytest.mark.parametrize("case", list(INVALID_REGISTRATIONS))
def test_invalid_registration_is_refused(oauth: EmbeddedAS, embedded_hub: GatehouseServer, case: str) -> None:
    """RFC 7591 §3.2.2: a bad redirect URI is 400 invalid_redirect_uri (RFC 6749 §3.1.2 absolute,
    no fragment; OAuth 2.1 https or loopback http; no javascript:), any other bad field is 400
    invalid_client_metadata; nothing is stored."""
    body, error = INVALID_REGISTRATIONS[case]
    before = embedded_hub.count_rows("oauth_clients")
    expect_oauth_error(oauth.register(body), 400, error)
    assert embedded_hub.count_rows("oauth_clients") == before


def test_registration_flood_is_throttled(fresh_embedded_hub: GatehouseServer, http: httpx2.Client) -> None:
    """Open registration (RFC 7591 §3) is bounded: more than 20 registrations a minute from one
    address get 429 with Retry-After (RFC 6585 §4), and only the admitted ones are stored."""
    oauth = EmbeddedAS(fresh_embedded_hub, http)
    statuses: list[int] = []
    throttled: list[httpx2.Response] = []
    for index in range(25):
        response = oauth.register({"client_name": f"flood {index}", "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            throttled.append(response)
    assert statuses == [201] * 20 + [429] * 5, statuses
    for response in throttled:
        retry_after = response.headers.get("retry-after", "")
        assert retry_after.isdigit() and 1 <= int(retry_after) <= 60, response.headers
        assert response.json()["error"] == "temporarily_unavailable", response.text
    assert fresh_embedded_hub.count_rows("oauth_clients") == 20


# ======================================================================================
# The authorization code flow
# ======================================================================================


def test_full_code_flow(oauth: EmbeddedAS, public_client: Client) -> None:
    """OAuth 2.1 §4.1 with PKCE S256 and RFC 8707: 303 to the redirect URI with code, the exact
    state and iss (RFC 9207); the token response (RFC 6749 §5.1) carries an ES256 JWT access
    token (RFC 9068: typ at+jwt, iss, sub, aud = the resource, client_id, exp, iat, jti) that
    verifies against the published JWKS, plus a refresh token; /mcp accepts it."""
    state = "st@te with spaces & symbols/é?"
    authorization = oauth.authorization_code(public_client, state=state)
    assert authorization.response["state"] == state
    assert authorization.response["iss"] == oauth.issuer
    assert set(authorization.response) == {"code", "state", "iss"}

    tokens = expect_tokens(oauth.redeem(public_client, authorization))
    assert tokens["expires_in"] == 900
    assert tokens["refresh_token"].startswith("ghr_")
    assert "scope" not in tokens  # nothing was requested and the hub offers no scope

    header, claims, _ = jwt_segments(tokens["access_token"])
    assert header["alg"] == "ES256" and header["typ"] == "at+jwt" and header["kid"], header
    verified = verify_with_jwks(tokens["access_token"], oauth.jwks(), oauth.issuer, oauth.mcp_url)
    assert verified == claims
    assert claims["iss"] == oauth.issuer
    assert claims["aud"] == oauth.mcp_url
    assert claims["client_id"] == public_client.client_id
    assert claims["email"] == DEV_USER
    assert claims["sub"].startswith("usr_")
    assert claims["exp"] - claims["iat"] == 900
    assert abs(claims["iat"] - time.time()) < 60

    assert whoami_result(oauth.whoami(tokens["access_token"])) == {
        "subject": claims["sub"],
        "issuer": oauth.issuer,
        "email": DEV_USER,
        "client_id": public_client.client_id,
        "scopes": [],
        "authenticated": True,
    }


def test_authorization_without_state_has_no_state(oauth: EmbeddedAS, public_client: Client) -> None:
    """RFC 6749 §4.1.2: state is returned only when the client sent one; iss is always there."""
    authorization = oauth.authorization_code(public_client, omit=("state",))
    assert set(authorization.response) == {"code", "iss"}
    expect_tokens(oauth.redeem(public_client, authorization))


def test_code_replay_is_refused_and_revokes_the_first_refresh_token(
    oauth: EmbeddedAS, public_client: Client, confidential_client: Client
) -> None:
    """RFC 6749 §4.1.2 / OAuth 2.1 §4.1.3: a code is single-use; a second redemption is
    invalid_grant and SHOULD revoke the tokens issued from it: the refresh token of the first
    redemption stops working."""
    authorization = oauth.authorization_code(public_client)
    first = expect_tokens(oauth.redeem(public_client, authorization))
    assert oauth.introspect(confidential_client, first["refresh_token"])["active"] is True

    expect_oauth_error(oauth.redeem(public_client, authorization), 400, "invalid_grant")

    assert oauth.introspect(confidential_client, first["refresh_token"]) == {"active": False}
    expect_oauth_error(oauth.refresh(public_client, first["refresh_token"]), 400, "invalid_grant")


def test_wrong_code_verifier_is_refused_and_spends_the_code(oauth: EmbeddedAS, public_client: Client) -> None:
    """RFC 7636 §4.6: a verifier that does not hash to the challenge is invalid_grant; the code
    is then spent, so an attacker cannot guess verifiers against it (a retry with the right
    verifier is refused too)."""
    authorization = oauth.authorization_code(public_client)
    wrong, _ = pkce_pair()
    expect_oauth_error(oauth.redeem(public_client, authorization, code_verifier=wrong), 400, "invalid_grant")
    expect_oauth_error(oauth.redeem(public_client, authorization), 400, "invalid_grant")


BAD_VERIFIERS = {
    "42-characters": "a" * 42,  # one short of RFC 7636's minimum
    "129-characters": "a" * 129,  # one over the maximum
    "outside-the-alphabet": "a" * 42 + "+",  # '+' is not an unreserved character
}


@pytest.mark.parametrize("case", list(BAD_VERIFIERS))
def test_verifier_must_have_the_rfc7636_form(oauth: EmbeddedAS, public_client: Client, case: str) -> None:
    """RFC 7636 §4.1: a code_verifier is 43-128 characters of [A-Za-z0-9-._~]; one outside that
    form is refused even though its S256 hash matches the challenge."""
    verifier = BAD_VERIFIERS[case]
    authorization = oauth.authorization_code(public_client, code_challenge=s256(verifier))
    expect_oauth_error(oauth.redeem(public_client, authorization, code_verifier=verifier), 400, "invalid_grant")


def test_missing_code_verifier_is_refused(oauth: EmbeddedAS, public_client: Client) -> None:
    """RFC 7636 §4.5 / OAuth 2.1 §4.1.3: code_verifier is required with a PKCE code."""
    authorization = oauth.authorization_code(public_client)
    expect_oauth_error(oauth.redeem(public_client, authorization, code_verifier=None), 400, "invalid_request")


def test_redirect_uri_swap_at_token_is_refused(oauth: EmbeddedAS, two_uri_client: Client) -> None:
    """RFC 6749 §4.1.3: redirect_uri at the token endpoint must be identical to the one of the
    authorization request, even when the other one is also registered; leaving it out when
    it was sent is refused as well."""
    swapped = oauth.authorization_code(two_uri_client, redirect_uri=REDIRECT_URI)
    expect_oauth_error(oauth.redeem(two_uri_client, swapped, redirect_uri=HTTPS_REDIRECT_URI), 400, "invalid_grant")

    omitted = oauth.authorization_code(two_uri_client, redirect_uri=HTTPS_REDIRECT_URI)
    expect_oauth_error(oauth.redeem(two_uri_client, omitted, redirect_uri=None), 400, "invalid_grant")

    exact = oauth.authorization_code(two_uri_client, redirect_uri=HTTPS_REDIRECT_URI)
    expect_tokens(oauth.redeem(two_uri_client, exact))


def test_redirect_uri_may_be_omitted_at_token_when_omitted_at_authorize(oauth: EmbeddedAS, public_client: Client) -> None:
    """RFC 6749 §4.1.1: redirect_uri may be left out when the client registered exactly one;
    §4.1.3: then the token request need not send it either."""
    authorization = oauth.authorization_code(public_client, omit=("redirect_uri",))
    assert authorization.redirect_uri == REDIRECT_URI  # the registered one received the code
    expect_tokens(oauth.redeem(public_client, authorization, redirect_uri=None))


def test_loopback_redirect_with_another_port_is_accepted(oauth: EmbeddedAS, public_client: Client) -> None:
    """RFC 8252 §7.3: for a loopback http redirect URI the port may differ from the registered
    one (native apps bind an ephemeral port); the code goes to the URI as requested and the
    token request must repeat that URI."""
    ephemeral = REDIRECT_URI.replace(":9/", ":54321/")
    authorization = oauth.authorization_code(public_client, redirect_uri=ephemeral)
    assert authorization.redirect_uri == ephemeral
    expect_tokens(oauth.redeem(public_client, authorization))


UNTRUSTED_REDIRECTS = {
    "other-path": REDIRECT_URI + "/evil",
    "localhost-for-127.0.0.1": REDIRECT_URI.replace("127.0.0.1", "localhost"),
    "https-for-http": REDIRECT_URI.replace("http://", "https://"),
    "attacker-host": "https://attacker.example/oauth/callback",
    "extra-query": REDIRECT_URI + "?next=https://attacker.example",
}


@pytest.mark.parametrize("case", list(UNTRUSTED_REDIRECTS))
def test_unregistered_redirect_uri_gets_a_page_not_a_redirect(
    oauth: EmbeddedAS, public_client: Client, case: str
) -> None:
    """RFC 6749 §3.1.2.3 / §4.1.2.1 and RFC 9700 §4.1.3: redirect URIs match exactly (only a
    loopback port may differ); a mismatch gets an error page and no redirect, so the server
    is no open redirector."""
    response, _ = oauth.authorize(public_client, redirect_uri=UNTRUSTED_REDIRECTS[case])
    expect_refusal_page(response, "invalid_request")


def test_https_redirect_port_must_match(oauth: EmbeddedAS, two_uri_client: Client) -> None:
    """RFC 8252 §7.3 allows a different port only for loopback http; an https redirect URI
    with another port is unregistered (400 page, no Location)."""
    response, _ = oauth.authorize(two_uri_client, redirect_uri=HTTPS_REDIRECT_URI.replace(".test/", ".test:8443/"))
    expect_refusal_page(response, "invalid_request")


def test_unknown_or_missing_client_gets_a_page(oauth: EmbeddedAS) -> None:
    """RFC 6749 §4.1.2.1: an invalid client_id must not redirect (the redirect URI cannot be
    trusted): 400 page with invalid_client; a missing client_id is invalid_request."""
    response, _ = oauth.authorize("ghc_no-such-client")
    expect_refusal_page(response, "invalid_client")
    response, _ = oauth.authorize("ghc_unused", omit=("client_id",))
    expect_refusal_page(response, "invalid_request")


def test_several_redirect_uris_require_redirect_uri(oauth: EmbeddedAS, two_uri_client: Client) -> None:
    """OAuth 2.1 §4.1.1: redirect_uri is REQUIRED when several are registered; without it the
    server cannot know where to send anything (400 page)."""
    response, _ = oauth.authorize(two_uri_client, omit=("redirect_uri",))
    expect_refusal_page(response, "invalid_request")


PKCE_VIOLATIONS = {
    "no-challenge": {"omit": ("code_challenge", "code_challenge_method")},
    "no-method": {"omit": ("code_challenge_method",)},
    "plain-method": {"code_challenge_method": "plain"},
    "plain-method-with-verifier-as-challenge": {
        "code_challenge_method": "plain",
        "code_challenge": "a" * 64,
    },
    "challenge-too-short": {"code_challenge": "abc"},
}


@pytest.mark.parametrize("case", list(PKCE_VIOLATIONS))
def test_pkce_is_required_with_s256(oauth: EmbeddedAS, public_client: Client, case: str) -> None:
    """OAuth 2.1 §4.1.1 and MCP authorization ("Authorization Code Protection"): PKCE is
    required and only S256 is supported; a request without it (or with plain) goes back to the
    client as error=invalid_request with state and iss (RFC 9207), and no code."""
    options = dict(PKCE_VIOLATIONS[case])
    omit = options.pop("omit", ())
    response, _ = oauth.authorize(public_client, omit=omit, state="pkce-state", **options)
    expect_error_redirect(response, oauth.issuer, REDIRECT_URI, "invalid_request", "pkce-state")


def test_unsupported_response_type_is_redirected(oauth: EmbeddedAS, public_client: Client) -> None:
    """RFC 6749 §4.1.2.1: response_type other than code is unsupported_response_type, sent to the
    (valid) redirect URI with state and iss; OAuth 2.1 removed the implicit grant."""
    response, _ = oauth.authorize(public_client, response_type="token", state="rt")
    expect_error_redirect(response, oauth.issuer, REDIRECT_URI, "unsupported_response_type", "rt")


def test_unknown_resource_is_invalid_target(oauth: EmbeddedAS, public_client: Client) -> None:
    """RFC 8707 §2: a resource the server does not serve is invalid_target, redirected with
    state and iss; the canonical MCP URL with a trailing slash is the same resource (MCP
    authorization "Canonical Server URI"), and the token's aud is the canonical form."""
    response, _ = oauth.authorize(public_client, resource=OTHER_RESOURCE, state="target")
    expect_error_redirect(response, oauth.issuer, REDIRECT_URI, "invalid_target", "target")

    origin_only, _ = oauth.authorize(public_client, resource=oauth.issuer, state="origin")
    expect_error_redirect(origin_only, oauth.issuer, REDIRECT_URI, "invalid_target", "origin")

    slashed = oauth.authorization_code(public_client, resource=oauth.mcp_url + "/")
    tokens = expect_tokens(oauth.redeem(public_client, slashed, resource=oauth.mcp_url + "/"))
    assert decode_unverified(tokens["access_token"])["aud"] == oauth.mcp_url


def test_other_resource_at_token_is_invalid_target(oauth: EmbeddedAS, public_client: Client) -> None:
    """RFC 8707 §2.2: the token request's resource must be one the grant covers; another one is
    400 invalid_target."""
    authorization = oauth.authorization_code(public_client)
    expect_oauth_error(oauth.redeem(public_client, authorization, resource=OTHER_RESOURCE), 400, "invalid_target")


def test_resource_may_be_omitted(oauth: EmbeddedAS, public_client: Client) -> None:
    """RFC 8707 §2 makes resource optional; the server then issues the token for its one
    resource, the MCP endpoint, so the audience is still restricted."""
    authorization = oauth.authorization_code(public_client, omit=("resource",))
    tokens = expect_tokens(oauth.redeem(public_client, authorization, resource=None))
    assert decode_unverified(tokens["access_token"])["aud"] == oauth.mcp_url


def test_code_issued_to_another_client_is_refused(
    oauth: EmbeddedAS, public_client: Client, two_uri_client: Client
) -> None:
    """RFC 6749 §4.1.3: the code must have been issued to the authenticated client."""
    authorization = oauth.authorization_code(public_client)
    expect_oauth_error(oauth.redeem(two_uri_client, authorization), 400, "invalid_grant")


TOKEN_REQUEST_ERRORS = {
    "unknown-client": ({"grant_type": "authorization_code", "code": "x", "code_verifier": "x" * 43, "client_id": "ghc_nobody"}, 401, "invalid_client"),
    "no-client": ({"grant_type": "authorization_code", "code": "x", "code_verifier": "x" * 43}, 401, "invalid_client"),
    "unsupported-grant": ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
    "password-grant": ({"grant_type": "password", "username": "dev@localhost", "password": "x"}, 400, "unsupported_grant_type"),
    "no-grant-type": ({}, 400, "invalid_request"),
    "unknown-code": ({"grant_type": "authorization_code", "code": "ghcode_forged", "code_verifier": "x" * 43, "redirect_uri": REDIRECT_URI}, 400, "invalid_grant"),
    "unknown-refresh-token": ({"grant_type": "refresh_token", "refresh_token": "ghr_forged"}, 400, "invalid_grant"),
}


@pytest.mark.parametrize("case", list(TOKEN_REQUEST_ERRORS))
def test_token_endpoint_errors(oauth: EmbeddedAS, public_client: Client, case: str) -> None:
    """RFC 6749 §5.2: each failure has its error code; invalid_client is HTTP 401; every
    response is JSON with Cache-Control: no-store."""
    form, status, error = TOKEN_REQUEST_ERRORS[case]
    if case not in ("unknown-client", "no-client"):
        form = {**form, "client_id": public_client.client_id}
    expect_oauth_error(oauth.post_form("/token", form), status, error)


def test_token_endpoint_needs_a_form_body(oauth: EmbeddedAS, public_client: Client) -> None:
    """RFC 6749 §3.2 / §4.1.3: token requests are application/x-www-form-urlencoded; JSON is
    invalid_request, not silently accepted."""
    response = oauth.http.post(
        oauth.url("/token"), json={"grant_type": "refresh_token", "refresh_token": "x", "client_id": public_client.client_id}
    )
    expect_oauth_error(response, 400, "invalid_request")


def test_repeated_token_parameter_is_refused(oauth: EmbeddedAS, public_client: Client) -> None:
    """RFC 6749 §3.2: request parameters MUST NOT be included more than once."""
    authorization = oauth.authorization_code(public_client)
    body = (
        f"grant_type=authorization_code&code={authorization.code}&code={authorization.code}"
        f"&code_verifier={authorization.verifier}&client_id={public_client.client_id}"
        f"&redirect_uri={quote(REDIRECT_URI, safe='')}"
    )
    response = oauth.http.post(
        oauth.url("/token"), content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    expect_oauth_error(response, 400, "invalid_request")


# ======================================================================================
# Refresh tokens
# ======================================================================================


def test_refresh_rotates_and_the_previous_token_has_a_short_grace(
    oauth: EmbeddedAS, public_client: Client, confidential_client: Client
) -> None:
    """OAuth 2.1 §4.3.1 / RFC 9700 §4.14.2: a refresh returns a new access token and a new
    refresh token (rotation); the old refresh token is no longer active. Within the 10 s
    concurrency grace a second use of the old one (two tabs refreshing at once, a retry after a
    lost response) gets a new access token and the same successor, never a second live branch,
    and the newest token keeps working."""
    first = oauth.login(public_client)
    second = expect_tokens(oauth.refresh(public_client, first["refresh_token"], resource=oauth.mcp_url))
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"] and second["refresh_token"].startswith("ghr_")
    old_claims, new_claims = decode_unverified(first["access_token"]), decode_unverified(second["access_token"])
    assert new_claims["jti"] != old_claims["jti"]
    assert {k: new_claims[k] for k in ("iss", "sub", "aud", "client_id")} == {
        k: old_claims[k] for k in ("iss", "sub", "aud", "client_id")
    }
    assert oauth.introspect(confidential_client, first["refresh_token"]) == {"active": False}
    whoami_result(oauth.whoami(second["access_token"]))

    grace = expect_tokens(oauth.refresh(public_client, first["refresh_token"]))
    assert grace["refresh_token"] == second["refresh_token"]
    assert grace["access_token"] != second["access_token"]
    third = expect_tokens(oauth.refresh(public_client, second["refresh_token"]))
    assert oauth.introspect(confidential_client, third["refresh_token"])["active"] is True


def test_refresh_token_of_another_client_is_refused(
    oauth: EmbeddedAS, public_client: Client, two_uri_client: Client
) -> None:
    """RFC 6749 §6: the refresh token must have been issued to the authenticated client."""
    tokens = oauth.login(public_client)
    expect_oauth_error(oauth.refresh(two_uri_client, tokens["refresh_token"]), 400, "invalid_grant")


def test_refresh_cannot_widen_the_scope(oauth: EmbeddedAS, public_client: Client) -> None:
    """RFC 6749 §6: the requested scope "MUST NOT include any scope not originally granted"."""
    tokens = oauth.login(public_client)
    expect_oauth_error(oauth.refresh(public_client, tokens["refresh_token"], scope="mcp:admin"), 400, "invalid_scope")


def test_refresh_for_another_resource_is_invalid_target(oauth: EmbeddedAS, public_client: Client) -> None:
    """RFC 8707 §2.2: a refresh may not move the grant to another resource."""
    tokens = oauth.login(public_client)
    expect_oauth_error(
        oauth.refresh(public_client, tokens["refresh_token"], resource=OTHER_RESOURCE), 400, "invalid_target"
    )


def test_client_without_refresh_grant_gets_no_refresh_token(oauth: EmbeddedAS) -> None:
    """RFC 7591 §2: grant_types defaults to authorization_code; such a client gets no refresh
    token, and a refresh_token grant from it is unauthorized_client (RFC 6749 §5.2)."""
    client = oauth.new_client(client_name="interop no refresh", grant_types=["authorization_code"])
    tokens = oauth.login(client)
    assert "refresh_token" not in tokens, tokens
    expect_oauth_error(oauth.refresh(client, "ghr_anything"), 400, "unauthorized_client")


@dataclass
class AfterGrace:
    """Refresh families prepared before one shared wait past the reuse grace."""

    reused_old: str  # rotated once; the pre-rotation token will be replayed
    reused_current: str  # the token the rotation returned
    refused_scope: str  # its only use so far was a refresh refused for widening the scope
    refused_target: str  # its only use so far was a refresh refused for another resource


@pytest.fixture(scope="module")
def after_grace(embedded_hub: GatehouseServer, http_module: httpx2.Client, public_client: Client) -> AfterGrace:
    """Sets up the families, then sleeps once until just past the 10 s reuse grace (bounded:
    at most REFRESH_REUSE_GRACE_S + 1.5 s)."""
    oauth = EmbeddedAS(embedded_hub, http_module)
    started = time.monotonic()
    reused = oauth.login(public_client)
    rotated = expect_tokens(oauth.refresh(public_client, reused["refresh_token"]))
    scope = oauth.login(public_client)
    expect_oauth_error(oauth.refresh(public_client, scope["refresh_token"], scope="mcp:admin"), 400, "invalid_scope")
    target = oauth.login(public_client)
    expect_oauth_error(
        oauth.refresh(public_client, target["refresh_token"], resource=OTHER_RESOURCE), 400, "invalid_target"
    )
    time.sleep(max(0.0, REFRESH_REUSE_GRACE_S + 1.5 - (time.monotonic() - started)))
    return AfterGrace(
        reused_old=reused["refresh_token"],
        reused_current=rotated["refresh_token"],
        refused_scope=scope["refresh_token"],
        refused_target=target["refresh_token"],
    )


def test_refresh_reuse_after_the_grace_revokes_the_family(
    oauth: EmbeddedAS, public_client: Client, after_grace: AfterGrace
) -> None:
    """OAuth 2.1 §4.3.1 / RFC 9700 §4.14.2: a rotated refresh token used again (after the grace)
    means it leaked: refused, and the whole family is revoked, so the current token dies too."""
    expect_oauth_error(oauth.refresh(public_client, after_grace.reused_old), 400, "invalid_grant")
    expect_oauth_error(oauth.refresh(public_client, after_grace.reused_current), 400, "invalid_grant")




@pytest.mark.parametrize("refusal", ["scope", "target"])
def test_refused_refresh_leaves_the_token_usable(
    oauth: EmbeddedAS, public_client: Client, after_grace: AfterGrace, refusal: str
) -> None:
    """A refresh refused for a bad scope or resource must not spend the refresh token: the
    client can retry with the same token later (here: after the reuse grace)."""
    token = after_grace.refused_scope if refusal == "scope" else after_grace.refused_target
    expect_tokens(oauth.refresh(public_client, token))


# ======================================================================================
# Revocation (RFC 7009) and introspection (RFC 7662)
# ======================================================================================


def test_revoking_a_refresh_token_revokes_its_family(
    oauth: EmbeddedAS, public_client: Client, confidential_client: Client
) -> None:
    """RFC 7009 §2.1/§2.2: revocation answers 200; revoking a refresh token invalidates it and
    (RFC 7009 §2.1 "SHOULD also invalidate" related tokens) the rest of its family."""
    first = oauth.login(public_client)
    second = expect_tokens(oauth.refresh(public_client, first["refresh_token"]))
    response = oauth.post_form(
        "/revoke",
        {"token": second["refresh_token"], "token_type_hint": "refresh_token", "client_id": public_client.client_id},
    )
    assert response.status_code == 200, response.text
    assert response.headers.get("cache-control") == "no-store"
    assert oauth.introspect(confidential_client, second["refresh_token"]) == {"active": False}
    expect_oauth_error(oauth.refresh(public_client, second["refresh_token"]), 400, "invalid_grant")
    # The predecessor is in its grace period but belongs to the revoked family.
    expect_oauth_error(oauth.refresh(public_client, first["refresh_token"]), 400, "invalid_grant")


def test_revoking_an_unknown_token_is_200(oauth: EmbeddedAS, public_client: Client) -> None:
    """RFC 7009 §2.2: "invalid tokens do not cause an error response"."""
    response = oauth.post_form("/revoke", {"token": "ghr_no-such-token", "client_id": public_client.client_id})
    assert response.status_code == 200, response.text


def test_revoking_another_clients_token_is_refused(
    oauth: EmbeddedAS, public_client: Client, two_uri_client: Client
) -> None:
    """RFC 7009 §2.1: the server verifies the token was issued to the requesting client; if
    not, the request is refused and the token stays valid."""
    tokens = oauth.login(public_client)
    response = oauth.post_form("/revoke", {"token": tokens["refresh_token"], "client_id": two_uri_client.client_id})
    assert response.status_code == 400, response.text
    expect_tokens(oauth.refresh(public_client, tokens["refresh_token"]))


def test_revocation_needs_client_authentication(oauth: EmbeddedAS, public_client: Client) -> None:
    """RFC 7009 §2.1: the client identifies (and, if confidential, authenticates) itself."""
    tokens = oauth.login(public_client)
    expect_oauth_error(oauth.post_form("/revoke", {"token": tokens["refresh_token"]}), 401, "invalid_client")
    expect_tokens(oauth.refresh(public_client, tokens["refresh_token"]))


def test_introspection_with_a_confidential_client(
    oauth: EmbeddedAS, public_client: Client, confidential_client: Client
) -> None:
    """RFC 7662 §2.2: active tokens are described (sub, client_id, aud, iss, exp); unknown or
    forged ones are just {"active": false}; client_secret_post works like Basic."""
    tokens = oauth.login(public_client)
    claims = decode_unverified(tokens["access_token"])
    access = oauth.introspect(confidential_client, tokens["access_token"])
    assert access["active"] is True and access["token_type"] == "Bearer", access
    for claim in ("sub", "client_id", "aud", "iss", "exp", "iat", "jti"):
        assert access[claim] == claims[claim], (claim, access)

    refresh = oauth.introspect(confidential_client, tokens["refresh_token"])
    assert refresh["active"] is True, refresh
    assert refresh["client_id"] == public_client.client_id and refresh["sub"] == claims["sub"], refresh
    assert refresh["aud"] == oauth.mcp_url and refresh["iss"] == oauth.issuer, refresh
    assert refresh["exp"] > time.time() + 86_400, refresh

    for forged in ("ghr_forged", "not-a-token", tamper_signature(tokens["access_token"])):
        assert oauth.introspect(confidential_client, forged) == {"active": False}, forged

    posted = oauth.post_form(
        "/introspect",
        {"token": tokens["access_token"], "client_id": confidential_client.client_id, "client_secret": confidential_client.secret or ""},
    )
    assert posted.status_code == 200 and posted.json()["active"] is True, posted.text


def test_introspection_refuses_public_and_unauthenticated_clients(
    oauth: EmbeddedAS, public_client: Client, confidential_client: Client
) -> None:
    """RFC 7662 §2.1: the endpoint requires authorization (to stop token scanning): a public
    client, no credentials and a wrong secret are all 401 invalid_client."""
    tokens = oauth.login(public_client)
    token = tokens["access_token"]
    expect_oauth_error(oauth.post_form("/introspect", {"token": token, "client_id": public_client.client_id}), 401, "invalid_client")
    expect_oauth_error(oauth.post_form("/introspect", {"token": token}), 401, "invalid_client")
    wrong = oauth.post_form("/introspect", {"token": token}, auth=(confidential_client.client_id, "wrong-secret"))
    expect_oauth_error(wrong, 401, "invalid_client")
    assert wrong.headers.get("www-authenticate", "").startswith("Basic"), wrong.headers


# ======================================================================================
# The hub accepts the embedded AS's tokens, and only those
# ======================================================================================


def tamper_signature(token: str) -> str:
    """The same token with one byte of its signature changed."""
    head, payload, signature = token.split(".")
    index = len(signature) // 2
    replacement = "A" if signature[index] != "A" else "B"
    return f"{head}.{payload}.{signature[:index]}{replacement}{signature[index + 1:]}"


def resign(token: str, claims: dict[str, Any] | None = None) -> str:
    """The token's header (same kid) and `claims` signed with a new, unpublished P-256 key."""
    header = jwt.get_unverified_header(token)
    key = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims or decode_unverified(token), key, algorithm="ES256", headers={"kid": header["kid"], "typ": "at+jwt"})


def test_hub_accepts_the_embedded_token_and_refuses_forgeries(
    oauth: EmbeddedAS, public_client: Client, embedded_hub: GatehouseServer
) -> None:
    """MCP authorization / RFC 6750: the hub verifies the embedded AS's tokens (whoami shows
    the user); a token with a changed signature, a changed payload, or signed by another key
    under the same kid is 401 invalid_token."""
    tokens = oauth.login(public_client)
    claims = decode_unverified(tokens["access_token"])
    me = whoami_result(oauth.whoami(tokens["access_token"]))
    assert me["subject"] == claims["sub"] and me["email"] == DEV_USER and me["authenticated"] is True

    expect_invalid_token(oauth.whoami(tamper_signature(tokens["access_token"])), embedded_hub)

    head, _, signature = tokens["access_token"].split(".")
    elevated = b64url(json.dumps({**claims, "sub": "usr_someone-else"}, separators=(",", ":")).encode())
    expect_invalid_token(oauth.whoami(f"{head}.{elevated}.{signature}"), embedded_hub)

    expect_invalid_token(oauth.whoami(resign(tokens["access_token"])), embedded_hub)
    expect_invalid_token(
        oauth.whoami(resign(tokens["access_token"], {**claims, "aud": OTHER_RESOURCE})), embedded_hub
    )


# ======================================================================================
# Client ID Metadata Documents
# ======================================================================================


class DocumentServer:
    """Serves JSON documents from a thread on 127.0.0.1 and records every connection."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple[int, bytes]] = {}
        self.requests: list[str] = []
        self.connections = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner.requests.append(self.path)
                status, body = owner.documents.get(self.path, (404, b'{"error":"not found"}'))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request: Any, client_address: Any) -> bool:
                owner.connections += 1
                return True

        self.port = free_port()
        self.httpd = Server(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="cimd-documents", daemon=True)

    def url(self, path: str, scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def serve(self, path: str, document: dict[str, Any], status: int = 200) -> str:
        self.documents[path] = (status, json.dumps(document).encode())
        return self.url(path)

    def fetches_of(self, path: str) -> int:
        return self.requests.count(path)


@pytest.fixture(scope="module")
def documents():
    server = DocumentServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


def cimd_document(client_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "client_name": "Interop CIMD client",
        "client_uri": "https://app.example.test",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        **overrides,
    }


@pytest.fixture
def cimd_oauth(embedded_cimd_hub: GatehouseServer, http: httpx2.Client) -> EmbeddedAS:
    return EmbeddedAS(embedded_cimd_hub, http)


def test_cimd_client_logs_in(
    cimd_oauth: EmbeddedAS, documents: DocumentServer, embedded_cimd_hub: GatehouseServer
) -> None:
    """CIMD draft §3-§4 / MCP authorization 2025-11-25: an https (here: allowed loopback http)
    client_id URL is fetched; its document's client_id equals the URL and lists the redirect
    URI; the full code flow works with client_id = the URL, without any registration, and the
    token's client_id is the URL. Refresh works for the document's client too."""
    client_id = documents.url("/clients/good.json")
    documents.serve("/clients/good.json", cimd_document(client_id))
    client = Client(client_id, [REDIRECT_URI])

    authorization = cimd_oauth.authorization_code(client, state="cimd")
    assert authorization.response["iss"] == cimd_oauth.issuer and authorization.response["state"] == "cimd"
    assert documents.fetches_of("/clients/good.json") >= 1
    tokens = expect_tokens(cimd_oauth.redeem(client, authorization))
    claims = decode_unverified(tokens["access_token"])
    assert claims["client_id"] == client_id
    assert whoami_result(cimd_oauth.whoami(tokens["access_token"]))["client_id"] == client_id
    expect_tokens(cimd_oauth.refresh(client, tokens["refresh_token"]))
    assert embedded_cimd_hub.count_rows("oauth_clients") == 0


CIMD_REFUSALS = {
    "client-id-differs-from-url": lambda url: cimd_document(url.replace(".json", "-other.json")),
    "client-id-with-trailing-slash": lambda url: cimd_document(url + "/"),
    "redirect-uri-not-listed": lambda url: cimd_document(url, redirect_uris=[HTTPS_REDIRECT_URI]),
    "client-secret-basic": lambda url: cimd_document(url, token_endpoint_auth_method="client_secret_basic"),
    "client-secret-post": lambda url: cimd_document(url, token_endpoint_auth_method="client_secret_post"),
    "contains-a-secret": lambda url: {**cimd_document(url), "client_secret": "s3cret"},
}


@pytest.mark.parametrize("case", list(CIMD_REFUSALS))
def test_cimd_bad_document_is_refused(
    cimd_oauth: EmbeddedAS, documents: DocumentServer, case: str
) -> None:
    """CIMD draft §4.1: the document's client_id MUST equal the URL exactly; the redirect URI
    must be listed; a document client is public (no shared-secret authentication method, no
    client_secret). The authorization request gets a page and no redirect (the redirect URI
    cannot be trusted, RFC 6749 §4.1.2.1); the token endpoint answers 401 invalid_client."""
    path = f"/clients/bad-{case}.json"
    url = documents.url(path)
    documents.serve(path, CIMD_REFUSALS[case](url))
    response, verifier = cimd_oauth.authorize(url, state="bad")
    assert documents.fetches_of(path) >= 1
    expected = "invalid_request" if case == "redirect-uri-not-listed" else "invalid_client"
    expect_refusal_page(response, expected)
    if case != "redirect-uri-not-listed":
        token = cimd_oauth.redeem(url, Authorization("ghcode_forged", verifier, REDIRECT_URI, {}))
        expect_oauth_error(token, 401, "invalid_client")


def test_cimd_document_that_is_not_served_is_refused(cimd_oauth: EmbeddedAS, documents: DocumentServer) -> None:
    """CIMD draft §4: the document URL must answer 200 with JSON; a 404 means no client."""
    response, _ = cimd_oauth.authorize(documents.url("/clients/missing.json"))
    expect_refusal_page(response, "invalid_client")
    assert documents.fetches_of("/clients/missing.json") == 1


# case -> (client_id URL, what the refusal page says). Plain http is refused for its scheme
# before anything else; the https ones for the address their host resolves to.
PRIVATE_CLIENT_URLS = {
    "http-loopback": (lambda docs: docs.url("/clients/private.json"), "must use https"),
    "https-127.0.0.1": (lambda docs: docs.url("/clients/private.json", scheme="https"), "private or loopback"),
    "https-localhost": (
        lambda docs: docs.url("/clients/private.json", scheme="https", host="localhost"),
        "private or loopback",
    ),
    "https-ipv6-loopback": (
        lambda docs: docs.url("/clients/private.json", scheme="https", host="[::1]"),
        "private or loopback",
    ),
    "https-rfc1918": (lambda docs: "https://10.1.2.3/clients/private.json", "private or loopback"),
    "https-link-local-metadata": (
        lambda docs: "https://169.254.169.254/latest/meta-data/client.json",
        "private or loopback",
    ),
}


@pytest.mark.parametrize("case", list(PRIVATE_CLIENT_URLS))
def test_cimd_private_address_is_refused_without_the_allow_flag(
    oauth: EmbeddedAS, documents: DocumentServer, case: str
) -> None:
    """CIMD draft "Server-Side Request Forgery": without GATEHOUSE_CIMD_ALLOW_PRIVATE the server
    must not fetch client_id URLs on loopback, private or link-local addresses (and plain http
    is not allowed at all): a page at /authorize, 401 invalid_client at /token, and the
    document server is never contacted."""
    make_url, reason = PRIVATE_CLIENT_URLS[case]
    url = make_url(documents)
    documents.serve("/clients/private.json", cimd_document(url))
    connections = documents.connections
    response, verifier = oauth.authorize(url)
    expect_refusal_page(response, "invalid_client")
    assert reason in response.text, response.text[:1500]
    token = oauth.redeem(url, Authorization("ghcode_forged", verifier, REDIRECT_URI, {}))
    expect_oauth_error(token, 401, "invalid_client")
    assert documents.connections == connections, "the hub contacted a private address"


# ======================================================================================
# Signing key rotation
# ======================================================================================


def test_key_rotation_keeps_old_tokens_valid(fresh_embedded_hub: GatehouseServer, http: httpx2.Client) -> None:
    """`gatehouse keys rotate` on a running hub's store (the SQLite file, or the cluster's
    database with its GATEHOUSE_SECRET_KEY): tokens signed with the old key keep
    verifying (no one is signed out). A hub started on the same store publishes both keys
    (the new, active one first) and signs new tokens with the new key; both tokens verify
    against its JWKS and on the MCP endpoint. (The running hub re-reads keys within 30 s;
    that wait is not part of this test.)"""
    hub = fresh_embedded_hub
    oauth = EmbeddedAS(hub, http)
    client = oauth.new_client(client_name="interop rotation")
    old_token = oauth.login(client)["access_token"]
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    assert [key["kid"] for key in oauth.jwks()["keys"]] == [old_kid]
    whoami_result(oauth.whoami(old_token))

    rotated = subprocess.run(
        [str(hub.binary), "keys", "rotate", *hub.store_args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=hub.workdir.name,
        env={**os.environ, **hub.store_env},
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "is active" in rotated.stdout, rotated.stdout
    new_kid = rotated.stdout.split("new signing key ", 1)[1].split(" ", 1)[0]
    assert new_kid != old_kid
    whoami_result(oauth.whoami(old_token))  # the running hub still accepts the old key's token

    # Same store, same public URL (the issuer and resource of the first hub), another process
    # (in cluster mode: another cluster on the same database).
    second = start_extra_server(
        "embedded-after-rotation",
        ["--dev-auto-approve", *hub.store_args, "--base-url", hub.base_url],
        env=hub.store_env,
    )
    try:
        second_oauth = EmbeddedAS(second, http)
        second_oauth.issuer, second_oauth.mcp_url = hub.base_url, hub.mcp_url
        jwks_url = second.base_url + "/jwks"
        published = http.get(jwks_url).json()
        assert [key["kid"] for key in published["keys"]] == [new_kid, old_kid], published

        def second_authorize(**params: str) -> httpx2.Response:
            return http.get(second.base_url + "/authorize", params=params)

        verifier, challenge = pkce_pair()
        redirect = second_authorize(
            response_type="code",
            client_id=client.client_id,
            redirect_uri=REDIRECT_URI,
            state="rotated",
            code_challenge=challenge,
            code_challenge_method="S256",
            resource=hub.mcp_url,
        )
        assert redirect.status_code == 303, redirect.text
        code = query_of(redirect.headers["location"])["code"]
        new_tokens = expect_tokens(
            http.post(
                second.base_url + "/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "code_verifier": verifier,
                    "redirect_uri": REDIRECT_URI,
                    "client_id": client.client_id,
                },
            )
        )
        new_token = new_tokens["access_token"]
        assert jwt.get_unverified_header(new_token)["kid"] == new_kid
        for token in (old_token, new_token):
            verify_with_jwks(token, published, hub.base_url, hub.mcp_url)
            whoami_result(second_oauth.whoami(token, mcp_url=second.mcp_url))
    finally:
        second.stop(check=True)
