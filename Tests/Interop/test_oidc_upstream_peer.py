"""peers/oidc_upstream.py on its own, without Gatehouse: oidc-provider-mock started as a subprocess
plays the upstream OpenID Connect provider, and a relying party's steps are played against it with
httpx2 (authorization code + PKCE S256 + state + nonce, the code redeemed with a client secret, the
ID token verified with PyJWT against the JWKS, refresh, userinfo, revocation) and once through its
real sign-in form in headless Chromium (Debian's, driven with Playwright).

Some tests pin down where the mock falls short of a real provider (PKCE not checked, no state on
denial, no kid in the ID token), so that tests built on it do not take its silence for a check.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import jwt
import pytest

from browser import chromium_browser, keep_to_loopback
from peers.oidc_upstream import OidcUpstream, complete_oidc_mock_sign_in, deny_oidc_mock_sign_in, oidc_upstream

HTTP_TIMEOUT_S = 5.0
CLIENT_ID = "gatehouse-test"
CLIENT_SECRET = "not-checked-by-default"
# Never contacted by the httpx2 flows: the code is read off the 302's Location.
REDIRECT_URI = "http://127.0.0.1:9/oidc/callback"


# --------------------------------------------------------------------------------------
# A relying party's half of the flow
# --------------------------------------------------------------------------------------


@dataclass
class AuthRequest:
    """One authorization request with fresh PKCE verifier, state and nonce."""

    issuer: str
    client_id: str = CLIENT_ID
    redirect_uri: str = REDIRECT_URI
    scope: str = "openid email profile"
    nonce: str | None = field(default_factory=lambda: secrets.token_urlsafe(16))
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def url(self) -> str:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if self.nonce is not None:
            query["nonce"] = self.nonce
        return f"{self.issuer}/oauth2/authorize?{urlencode(query)}"

    def sign_in(self, sub: str) -> dict[str, str]:
        """What a person does on the form, as plain HTTP: GET the form, POST the sub. Returns the
        query of the redirect, after checking it goes to redirect_uri."""
        form = httpx2.get(self.url, timeout=HTTP_TIMEOUT_S)
        assert form.status_code == 200, f"authorize GET answered {form.status_code}: {form.text}"
        assert 'name="sub"' in form.text, form.text
        answer = httpx2.post(self.url, data={"sub": sub}, timeout=HTTP_TIMEOUT_S)
        return redirect_query(answer, self.redirect_uri)


def redirect_query(response: httpx2.Response, redirect_uri: str) -> dict[str, str]:
    assert response.status_code == 302, f"expected a redirect, got {response.status_code}: {response.text}"
    location = response.headers["location"]
    assert location.startswith(redirect_uri + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


def token_request(issuer: str, data: dict[str, str], auth: tuple[str, str] | None = (CLIENT_ID, CLIENT_SECRET)) -> httpx2.Response:
    return httpx2.post(f"{issuer}/oauth2/token", data=data, auth=auth, timeout=HTTP_TIMEOUT_S)


def redeem(request: AuthRequest, code: str, verifier: str | None = None, secret: str = CLIENT_SECRET) -> dict[str, Any]:
    response = token_request(
        request.issuer,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "code_verifier": verifier if verifier is not None else request.verifier,
        },
        auth=(request.client_id, secret),
    )
    assert response.status_code == 200, f"token endpoint answered {response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    return response.json()


def jwks_key(provider: OidcUpstream) -> jwt.PyJWK:
    jwks_uri = provider.discovery()["jwks_uri"]
    response = httpx2.get(jwks_uri, timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    keys = jwt.PyJWKSet.from_dict(response.json()).keys
    assert len(keys) == 1, keys
    return keys[0]


def verify_id_token(provider: OidcUpstream, id_token: str, request: AuthRequest, leeway: float = 0) -> dict[str, Any]:
    """Signature (RS256, the JWKS's one key), iss, aud, exp/iat (with `leeway` seconds) and nonce, as a
    relying party checks them."""
    header = jwt.get_unverified_header(id_token)
    assert header["alg"] == "RS256", header
    # The mock's ID tokens name no key: a relying party has to fall back to the JWKS's only key.
    assert "kid" not in header, header
    claims = jwt.decode(
        id_token,
        jwks_key(provider).key,
        algorithms=["RS256"],
        audience=request.client_id,
        issuer=provider.issuer,
        options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        leeway=leeway,
    )
    assert claims["aud"] == [request.client_id], claims
    assert claims.get("nonce") == request.nonce, claims
    return claims


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def userinfo(issuer: str, access_token: str) -> httpx2.Response:
    return httpx2.get(f"{issuer}/userinfo", headers={"Authorization": f"Bearer {access_token}"}, timeout=HTTP_TIMEOUT_S)


# --------------------------------------------------------------------------------------
# Providers
# --------------------------------------------------------------------------------------


def _started(**options: Any) -> Iterator[OidcUpstream]:
    try:
        context = oidc_upstream(**options)
        provider = context.__enter__()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield provider
    finally:
        context.__exit__(None, None, None)
    assert provider.process.returncode is not None, "the provider still runs after the context ended"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcUpstream]:
    """The mock with its defaults: any client_id and secret, refresh tokens, 1 h tokens, and one
    predefined user (a one-click button on the form)."""
    yield from _started(users={"predefined": {"email": "pre@example.com", "name": "Pre Defined"}})


@pytest.fixture(scope="module")
def strict_provider() -> Iterator[OidcUpstream]:
    """Registered clients only, nonce required, no refresh tokens."""
    yield from _started(require_registration=True, require_nonce=True, refresh_tokens=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        context = chromium_browser()
        chromium = context.__enter__()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield chromium
    finally:
        context.__exit__(None, None, None)


class _CallbackHandler(BaseHTTPRequestHandler):
    server: "CallbackServer"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query, keep_blank_values=True).items()}
        with self.server.lock:
            self.server.arrivals.append(query)
        data = b"<!doctype html><title>Callback</title><p id=done>Back at the relying party.</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class CallbackServer(ThreadingHTTPServer):
    """The relying party's redirect_uri: records the query of every GET."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CallbackHandler)
        self.lock = threading.Lock()
        self.arrivals: list[dict[str, str]] = []

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/oidc/callback"


@pytest.fixture
def callback() -> Iterator[CallbackServer]:
    server = CallbackServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def page(browser) -> Iterator[Any]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    keep_to_loopback(context)
    try:
        yield context.new_page()
    finally:
        context.close()


# --------------------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------------------


def test_discovery_names_the_endpoints_under_the_issuer(provider: OidcUpstream) -> None:
    config = provider.discovery()
    issuer = provider.issuer
    assert issuer.startswith("http://127.0.0.1:") and not issuer.endswith("/"), issuer
    assert config["issuer"] == issuer
    assert config["authorization_endpoint"] == issuer + "/oauth2/authorize"
    assert config["token_endpoint"] == issuer + "/oauth2/token"
    assert config["userinfo_endpoint"] == issuer + "/userinfo"
    assert config["jwks_uri"] == issuer + "/jwks"
    assert config["registration_endpoint"] == issuer + "/oauth2/clients"
    assert config["end_session_endpoint"] == issuer + "/oauth2/end_session"
    assert config["response_types_supported"] == ["code"]
    assert config["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"openid", "email", "profile"} <= set(config["scopes_supported"])
    # Not advertised: a relying party that insists on them from discovery will refuse this provider.
    assert "code_challenge_methods_supported" not in config
    assert "token_endpoint_auth_methods_supported" not in config

    key = jwks_key(provider)
    assert key.key_type == "RSA" and key.key_id, key


def test_issuer_follows_the_host_header(provider: OidcUpstream) -> None:
    """The issuer is whatever host the caller named, so it must always be addressed as 127.0.0.1."""
    response = httpx2.get(provider.discovery_url, headers={"Host": f"localhost:{provider.port}"}, timeout=HTTP_TIMEOUT_S)
    assert response.json()["issuer"] == f"http://localhost:{provider.port}"


# --------------------------------------------------------------------------------------
# Authorization code flow over plain HTTP
# --------------------------------------------------------------------------------------


def test_code_flow_with_pkce_nonce_secret_refresh_and_userinfo(provider: OidcUpstream) -> None:
    sub = f"alice-{secrets.token_hex(4)}"
    provider.set_user(sub, {"email": "alice@example.com", "email_verified": True, "name": "Alice Liddell", "groups": ["staff"]})
    request = AuthRequest(provider.issuer)

    arrived = request.sign_in(sub)
    assert set(arrived) == {"code", "state"}, arrived
    assert arrived["state"] == request.state

    tokens = redeem(request, arrived["code"])
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["scope"] == request.scope
    assert tokens["refresh_token"] and tokens["access_token"]

    claims = verify_id_token(provider, tokens["id_token"], request)
    assert claims["sub"] == sub
    assert claims["email"] == "alice@example.com" and claims["email_verified"] is True
    assert claims["name"] == "Alice Liddell"
    assert claims["groups"] == ["staff"]
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["auth_time"] == claims["iat"]
    assert claims["at_hash"] == at_hash(tokens["access_token"])

    # A tampered ID token does not verify.
    head, body, signature = tokens["id_token"].split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{head}.{body}.{flipped}", jwks_key(provider).key, algorithms=["RS256"], audience=CLIENT_ID)

    info = userinfo(provider.issuer, tokens["access_token"])
    assert info.status_code == 200, info.text
    assert info.json() == {"sub": sub, "email": "alice@example.com", "email_verified": True,
                           "name": "Alice Liddell", "groups": ["staff"]}  # fmt: skip

    # The code is single-use.
    again = token_request(provider.issuer, {"grant_type": "authorization_code", "code": arrived["code"], "redirect_uri": REDIRECT_URI})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text

    # Refresh: a new access token only; the old one stops working, the refresh token stays valid.
    refreshed = token_request(provider.issuer, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    fresh = refreshed.json()
    assert set(fresh) == {"access_token", "expires_in", "scope", "token_type"}, fresh
    assert fresh["access_token"] != tokens["access_token"]
    assert userinfo(provider.issuer, fresh["access_token"]).json()["sub"] == sub
    stale = userinfo(provider.issuer, tokens["access_token"])
    assert stale.status_code == 400 and stale.json()["error"] == "access_denied", stale.text

    # Claims changed upstream show on userinfo at once.
    provider.set_user(sub, {"email": "alice@new.example", "name": "Alice L."})
    assert userinfo(provider.issuer, fresh["access_token"]).json() == {"sub": sub, "email": "alice@new.example", "name": "Alice L."}

    # The refresh token belongs to its client.
    other = token_request(provider.issuer, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, auth=("someone-else", "x"))
    assert other.status_code == 400 and other.json()["error"] == "invalid_grant", other.text

    # The upstream session ends: every token of the user is gone.
    provider.revoke_tokens(sub)
    after = token_request(provider.issuer, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant", after.text
    revoked = userinfo(provider.issuer, fresh["access_token"])
    assert revoked.status_code == 400 and revoked.json()["error"] == "access_denied", revoked.text


def test_claims_follow_the_scope_and_unknown_users_get_their_sub_as_email(provider: OidcUpstream) -> None:
    sub = f"bob-{secrets.token_hex(4)}"
    request = AuthRequest(provider.issuer, scope="openid")
    claims = verify_id_token(provider, redeem(request, request.sign_in(sub)["code"])["id_token"], request)
    assert "email" not in claims and "name" not in claims, claims

    request = AuthRequest(provider.issuer, scope="openid email")
    tokens = redeem(request, request.sign_in(sub)["code"])
    assert verify_id_token(provider, tokens["id_token"], request)["email"] == sub
    assert userinfo(provider.issuer, tokens["access_token"]).json() == {"sub": sub, "email": sub}

    # Without openid there is no ID token at all.
    request = AuthRequest(provider.issuer, scope="email")
    assert "id_token" not in redeem(request, request.sign_in(sub)["code"])

    # A predefined user (--user-claims) signs in with its claims.
    request = AuthRequest(provider.issuer)
    claims = verify_id_token(provider, redeem(request, request.sign_in("predefined")["code"])["id_token"], request)
    assert (claims["email"], claims["name"]) == ("pre@example.com", "Pre Defined")


def test_pkce_is_not_checked_and_client_auth_is_any_secret(provider: OidcUpstream) -> None:
    """Gaps of the mock a relying party's test must not count on: a wrong code_verifier is
    accepted, any secret is, and the secret may come in the body too; only "none" is refused."""
    request = AuthRequest(provider.issuer)
    tokens = redeem(request, request.sign_in("carol")["code"], verifier="not-the-verifier", secret="whatever")
    assert verify_id_token(provider, tokens["id_token"], request)["sub"] == "carol"

    request = AuthRequest(provider.issuer)
    code = request.sign_in("carol")["code"]
    posted = token_request(
        provider.issuer,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": request.verifier,
         "client_id": CLIENT_ID, "client_secret": "in-the-body"},  # fmt: skip
        auth=None,
    )
    assert posted.status_code == 200, posted.text

    request = AuthRequest(provider.issuer)
    code = request.sign_in("carol")["code"]
    public = token_request(
        provider.issuer,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": request.verifier, "client_id": CLIENT_ID},
        auth=None,
    )
    assert public.status_code == 401 and public.json()["error"] == "invalid_client", public.text

    # The redirect_uri of the token request must be the authorization request's.
    request = AuthRequest(provider.issuer)
    code = request.sign_in("carol")["code"]
    wrong = token_request(provider.issuer, {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:9/elsewhere"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant", wrong.text


def test_denial_and_prompt_none_over_http(provider: OidcUpstream) -> None:
    request = AuthRequest(provider.issuer)
    denied = redirect_query(httpx2.post(request.url, data={"action": "deny"}, timeout=HTTP_TIMEOUT_S), REDIRECT_URI)
    assert denied["error"] == "access_denied"
    assert "state" not in denied, denied  # the mock drops state on denial

    silent = redirect_query(httpx2.get(request.url + "&prompt=none", timeout=HTTP_TIMEOUT_S), REDIRECT_URI)
    assert silent == {"error": "login_required", "state": request.state}, silent


def test_registration_required_nonce_required_no_refresh(strict_provider: OidcUpstream) -> None:
    issuer = strict_provider.issuer
    unknown = httpx2.get(AuthRequest(issuer).url, timeout=HTTP_TIMEOUT_S)
    assert unknown.status_code == 400 and "invalid_client" in unknown.text, unknown.text

    client_id, secret = strict_provider.register_client([REDIRECT_URI], "client_secret_post")
    assert client_id != secret

    # A redirect_uri that was not registered: an error page, no redirect.
    astray = httpx2.get(AuthRequest(issuer, client_id=client_id, redirect_uri="http://127.0.0.1:9/other").url, timeout=HTTP_TIMEOUT_S)
    assert astray.status_code == 400, astray.text

    # No nonce: refused back at the redirect_uri.
    no_nonce = AuthRequest(issuer, client_id=client_id, nonce=None)
    refused = redirect_query(httpx2.post(no_nonce.url, data={"sub": "dora"}, timeout=HTTP_TIMEOUT_S), REDIRECT_URI)
    assert refused["error"] == "invalid_request" and refused["state"] == no_nonce.state, refused

    request = AuthRequest(issuer, client_id=client_id)
    code = request.sign_in("dora")["code"]
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": request.verifier}
    wrong_secret = token_request(issuer, {**body, "client_id": client_id, "client_secret": "wrong"}, auth=None)
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client", wrong_secret.text
    wrong_method = token_request(issuer, body, auth=(client_id, secret))
    assert wrong_method.status_code == 401 and wrong_method.json()["error"] == "invalid_client", wrong_method.text
    good = token_request(issuer, {**body, "client_id": client_id, "client_secret": secret}, auth=None)
    assert good.status_code == 200, good.text
    tokens = good.json()
    assert "refresh_token" not in tokens, tokens
    assert verify_id_token(strict_provider, tokens["id_token"], request)["sub"] == "dora"


def test_short_lived_tokens_expire_but_the_refresh_token_does_not() -> None:
    with oidc_upstream(token_max_age_s=1) as provider:
        request = AuthRequest(provider.issuer)
        tokens = redeem(request, request.sign_in("erin")["code"])
        assert tokens["expires_in"] == 1
        # A 1 s token may be past its exp by the time it is checked on a loaded machine (CI saw it):
        # the claims are read with leeway; its expiry is checked below, without.
        claims = verify_id_token(provider, tokens["id_token"], request, leeway=5)
        assert claims["exp"] - claims["iat"] == 1
        time.sleep(1.2)
        expired = userinfo(provider.issuer, tokens["access_token"])
        assert expired.status_code == 401 and expired.json()["error"] == "invalid_token", expired.text
        with pytest.raises(jwt.ExpiredSignatureError):
            jwt.decode(tokens["id_token"], jwks_key(provider).key, algorithms=["RS256"], audience=CLIENT_ID)
        refreshed = token_request(provider.issuer, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        assert userinfo(provider.issuer, refreshed.json()["access_token"]).status_code == 200


# --------------------------------------------------------------------------------------
# The sign-in form in Chromium
# --------------------------------------------------------------------------------------


def test_sign_in_form_in_chromium(provider: OidcUpstream, callback: CallbackServer, page: Any) -> None:
    sub = f"frank-{secrets.token_hex(4)}"
    request = AuthRequest(provider.issuer, redirect_uri=callback.redirect_uri)
    response = page.goto(request.url)
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text() == "Authorize Client"
    assert CLIENT_ID in page.locator("code").first.inner_text()

    arrived_at = complete_oidc_mock_sign_in(page, sub, email="frank@example.com", name="Frank Example")
    assert arrived_at.startswith(callback.redirect_uri + "?"), arrived_at
    page.locator("#done").wait_for()
    assert len(callback.arrivals) == 1, callback.arrivals
    query = callback.arrivals[0]
    assert query == {k: v[0] for k, v in parse_qs(urlsplit(arrived_at).query).items()}
    assert query["state"] == request.state

    tokens = redeem(request, query["code"])
    claims = verify_id_token(provider, tokens["id_token"], request)
    assert (claims["sub"], claims["email"], claims["email_verified"], claims["name"]) == (sub, "frank@example.com", True, "Frank Example")
    assert userinfo(provider.issuer, tokens["access_token"]).json()["name"] == "Frank Example"


def test_deny_in_chromium(provider: OidcUpstream, callback: CallbackServer, page: Any) -> None:
    request = AuthRequest(provider.issuer, redirect_uri=callback.redirect_uri)
    page.goto(request.url)
    arrived_at = deny_oidc_mock_sign_in(page)
    page.locator("#done").wait_for()
    assert callback.arrivals == [{"error": "access_denied", "error_description": "The resource owner or authorization server denied the request"}]
    assert "code=" not in arrived_at and "state=" not in arrived_at, arrived_at
