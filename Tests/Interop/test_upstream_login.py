"""Signing in to Gatehouse's embedded authorization server through an upstream OpenID Connect
provider nobody on the team wrote: oidc-provider-mock (PyPI) serves discovery, JWKS, a sign-in
form, tokens, refresh and userinfo (peers/oidc_upstream.py).

The clients are the official Python MCP SDK (its OAuthClientProvider) and `gatehouse login`; the
person is headless Chromium: Gatehouse's consent page first ("Continue with ..."), then the
provider's form, then back through Gatehouse's /auth/callback to the client with a code. The hub
then knows the person by the provider's (issuer, subject), with the provider's email and name.

In cluster mode (GATEHOUSE_INTEROP_DEPLOYMENT=cluster, conftest.py) each hub is three instances on
one PostgreSQL database behind nginx round robin (peers/cluster.py): the consent page, its POST,
the provider's callback and the code redemption land on different instances. Every test here runs
in both modes (test_start_up_refuses_a_provider_that_cannot_be_discovered starts no hub fixture and
is the same in both).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from mcp.client.auth import AuthorizationCodeResult

from conftest import GatehouseServer, start_extra_server
from browser import chromium_browser, keep_to_loopback
from peers.oidc_upstream import complete_oidc_mock_sign_in, deny_oidc_mock_sign_in, oidc_upstream
from test_client import BINARY
from test_embedded_login import FileTokenStorage, Traffic, call_whoami, make_provider, run_sdk

UPSTREAM_CLIENT_ID = "gatehouse-at-the-mock"
UPSTREAM_CLIENT_SECRET = "mock-client-secret"
REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"  # the SDK tests' client redirect; never contacted
PAGE_TIMEOUT_MS = 15_000
HTTP_TIMEOUT_S = 10.0


# ======================================================================================
# Fixtures and helpers
# ======================================================================================


@pytest.fixture(scope="module")
def upstream() -> Iterator[Any]:
    with oidc_upstream() as provider:
        yield provider


def upstream_hub(name: str, provider: Any, *extra: str) -> GatehouseServer:
    """A hub whose people sign in at `provider`; the client secret comes from the environment,
    as in production, so it never appears in the logged command line."""
    return start_extra_server(name, [
        "--env", f"GATEHOUSE_UPSTREAM_ISSUER={provider.issuer}",
        "--env", f"GATEHOUSE_UPSTREAM_CLIENT_ID={UPSTREAM_CLIENT_ID}",
        "--env", "GATEHOUSE_UPSTREAM_NAME=Mock IdP",
        *extra,
    ], env={"GATEHOUSE_UPSTREAM_CLIENT_SECRET": UPSTREAM_CLIENT_SECRET})


@pytest.fixture(scope="module")
def hub(upstream: Any) -> Iterator[GatehouseServer]:
    server = upstream_hub("upstream-login", upstream)
    try:
        yield server
    finally:
        server.stop()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def register(hub: GatehouseServer, http: httpx2.Client, name: str = "upstream-test") -> str:
    response = http.post(hub.base_url + "/register", json={
        "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none", "client_name": name,
        "grant_types": ["authorization_code", "refresh_token"],
    })
    assert response.status_code == 201, response.text
    return response.json()["client_id"]


def authorize_url(hub: GatehouseServer, client_id: str, challenge: str, state: str = "client-state") -> str:
    params = {
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI, "code_challenge": challenge,
        "code_challenge_method": "S256", "state": state, "resource": hub.mcp_url, "scope": "tools",
    }
    return str(httpx2.URL(hub.base_url + "/authorize", params=params))


def consent_and_continue(page: Any) -> None:
    """On Gatehouse's consent page: checks what it shows, then presses "Continue with Mock IdP"."""
    assert page.get_by_role("heading").first.inner_text().startswith("Allow"), page.content()[:500]
    page.get_by_role("button", name="Continue with Mock IdP").click()


def browser_sign_in(browser: Any, url: str, sub: str, email: str, name: str, *, context: Any = None) -> dict[str, str]:
    """A person in Chromium opens `url` (an authorization request to the hub), consents, signs in at
    the provider as `sub`, and ends at REDIRECT_URI; returns that redirect's query."""
    own_context = context is None
    context = context or browser.new_context()
    keep_to_loopback(context)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        page.goto(url)
        consent_and_continue(page)
        page.wait_for_url(re.compile(r".*/oauth2/authorize.*"))
        with page.expect_request(lambda request: request.url.startswith(REDIRECT_URI), timeout=PAGE_TIMEOUT_MS) as arrival:
            complete_oidc_mock_sign_in(page, sub, email=email, name=name)
        return query(arrival.value.url)
    finally:
        page.close()
        if own_context:
            context.close()


def redeem(hub: GatehouseServer, http: httpx2.Client, client_id: str, code: str, verifier: str) -> dict[str, Any]:
    response = http.post(hub.base_url + "/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier, "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
    })
    assert response.status_code == 200, response.text
    return response.json()


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class BrowserPerson:
    """The SDK's redirect and callback handlers for a person in headless Chromium: `_sign_in` (per
    provider) takes the browser from the authorization URL to the SDK's redirect URI, and the code,
    state and iss there go to the SDK's callback handler."""

    def __init__(self) -> None:
        self.authorization_urls: list[str] = []
        self._pending: AuthorizationCodeResult | None = None

    def _sign_in(self, url: str) -> dict[str, str]:
        raise NotImplementedError

    async def redirect_handler(self, authorization_url: str) -> None:
        self.authorization_urls.append(authorization_url)
        # Playwright's synchronous API cannot run on the SDK's event loop: a worker thread drives it.
        params = await asyncio.to_thread(self._sign_in, authorization_url)
        if "code" not in params:
            raise RuntimeError(f"the sign-in did not end with a code: {params}")
        self._pending = AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))

    async def callback_handler(self) -> AuthorizationCodeResult:
        assert self._pending is not None, "callback_handler called before the sign-in"
        result, self._pending = self._pending, None
        return result


class ChromiumPerson(BrowserPerson):
    """Consents on Gatehouse's page and signs in at oidc-provider-mock as `sub`."""

    def __init__(self, sub: str, email: str, name: str) -> None:
        super().__init__()
        self.sub, self.email, self.name = sub, email, name

    def _sign_in(self, url: str) -> dict[str, str]:
        with chromium_browser() as browser:
            return browser_sign_in(browser, url, self.sub, self.email, self.name)


# ======================================================================================
# Real clients
# ======================================================================================


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_python_sdk_signs_in_through_the_provider_and_calls_whoami(
    upstream: Any, hub: GatehouseServer, tmp_path: Path, mode: str
) -> None:
    """The official SDK discovers the hub, registers, and the person signs in at the provider:
    whoami answers as the provider's user (email and name from the ID token), and the hub's
    users table shows them (seed 000's check)."""
    sub = f"ada-{mode}"
    person = ChromiumPerson(sub, f"{sub}@example.com", f"Ada {mode.title()}")
    storage, traffic = FileTokenStorage(tmp_path / "oauth.json"), Traffic()
    whoami = run_sdk(hub, mode, make_provider(hub, storage, person), traffic, call_whoami)
    assert whoami["email"] == f"{sub}@example.com", whoami
    assert whoami["authenticated"] is True and whoami["client_id"] == storage.client_id, whoami
    params = query(person.authorization_urls[0])
    assert params["code_challenge_method"] == "S256" and params["resource"] == hub.mcp_url, params
    rows = hub.query("SELECT email, name FROM users WHERE email = ?", (f"{sub}@example.com",))
    assert rows == [(f"{sub}@example.com", f"Ada {mode.title()}")], rows
    linked = hub.query(
        "SELECT i.issuer, i.subject FROM idp_upstream_identities i JOIN idp_users u ON u.id = i.user_id WHERE u.email = ?",
        (f"{sub}@example.com",))
    assert linked == [(upstream.issuer, sub)], linked
    # The upstream tokens are kept sealed, never in the clear.
    sealed = hub.query("SELECT sealed_tokens FROM idp_login_sessions")
    assert sealed and all(bytes(row[0]).startswith(b"GHS1") for row in sealed), sealed


def test_gatehouse_login_signs_in_through_the_provider(upstream: Any, hub: GatehouseServer, tmp_path: Path) -> None:
    """`gatehouse login URL` prints the URL; the person signs in (consent, provider form) in
    Chromium; the CLI's loopback callback gets the code; `gatehouse call whoami` answers as them."""
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "BROWSER": "true", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    config = ["--config-dir", str(tmp_path / "config")]
    login = subprocess.Popen(
        [str(BINARY), "login", *config, "--no-browser", "--timeout", "60", hub.mcp_url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True)
    try:
        assert login.stderr is not None
        url = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not url:
            line = login.stderr.readline()
            if line.startswith("http"):
                url = line.strip()
        assert url.startswith(hub.base_url + "/authorize?"), url
        with chromium_browser() as browser:
            context = browser.new_context()
            keep_to_loopback(context)
            page = context.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(url)
            consent_and_continue(page)
            page.wait_for_url(re.compile(r".*/oauth2/authorize.*"))
            complete_oidc_mock_sign_in(page, "grace", email="grace@example.com", name="Grace Hopper")
            page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/callback\?.*"))
            context.close()
        assert login.wait(timeout=20) == 0, login.stderr.read()
    finally:
        if login.poll() is None:
            login.kill()
    whoami = subprocess.run(
        [str(BINARY), "call", *config, "--no-browser", "--json", hub.mcp_url, "whoami"],
        capture_output=True, text=True, env=env, timeout=30)
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["structuredContent"]["email"] == "grace@example.com", whoami.stdout


# ======================================================================================
# The flow, step by step (httpx plays the browser where no page needs rendering)
# ======================================================================================


def sign_in_without_browser(hub: GatehouseServer, upstream: Any, http: httpx2.Client, client_id: str, sub: str,
                            email: str) -> tuple[dict[str, str], str]:
    """The browser's trip with httpx: consent page, approve, the provider's form, the callback.
    Returns the client's redirect query and the PKCE verifier."""
    verifier, challenge = pkce()
    page = http.get(authorize_url(hub, client_id, challenge))
    assert page.status_code == 200 and "Continue with Mock IdP" in page.text, page.text[:500]
    hidden = dict(re.findall(r'name="(request_id|csrf_token)" value="([^"]*)"', page.text))
    to_provider = http.post(hub.base_url + "/authorize", data={**hidden, "decision": "approve"})
    assert to_provider.status_code == 303, to_provider.text[:300]
    location = to_provider.headers["location"]
    upstream_params = query(location)
    assert location.startswith(upstream.issuer + "/oauth2/authorize?"), location
    assert upstream_params["redirect_uri"] == hub.base_url + "/auth/callback", upstream_params
    assert upstream_params["code_challenge_method"] == "S256" and len(upstream_params["nonce"]) >= 32, upstream_params
    assert upstream_params["scope"] == "openid email profile", upstream_params
    upstream.set_user(sub, {"email": email, "email_verified": True, "name": sub.title()})
    back = http.post(location, data={"sub": sub})
    assert back.status_code == 302, back.text[:300]
    done = http.get(back.headers["location"])
    assert done.status_code == 303, done.text[:500]
    return query(done.headers["location"]), verifier


def test_refresh_rechecks_the_provider_and_ends_when_it_revokes(upstream: Any, hub: GatehouseServer) -> None:
    """Our refresh asks the provider (its refresh grant); when the provider revokes the person's
    tokens, our next refresh is invalid_grant and the whole family is revoked."""
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        client_id = register(hub, http)
        params, verifier = sign_in_without_browser(hub, upstream, http, client_id, "linus", "linus@example.com")
        assert params["state"] == "client-state" and params["iss"] == hub.base_url, params
        tokens = redeem(hub, http, client_id, params["code"], verifier)
        token_claims = claims(tokens["access_token"])
        assert token_claims["email"] == "linus@example.com" and token_claims["aud"] == hub.mcp_url, token_claims
        refreshed = http.post(hub.base_url + "/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client_id})
        assert refreshed.status_code == 200, refreshed.text
        upstream.revoke_tokens("linus")
        ended = http.post(hub.base_url + "/token", data={
            "grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"], "client_id": client_id})
        assert ended.status_code == 400 and ended.json()["error"] == "invalid_grant", ended.text
        assert "identity provider" in ended.json()["error_description"], ended.text
        # Revoked for good: the provider's answer is not asked again.
        again = http.post(hub.base_url + "/token", data={
            "grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"], "client_id": client_id})
        assert again.status_code == 400, again.text
    assert "event=upstream_login_ended" in hub.log_text()
    assert UPSTREAM_CLIENT_SECRET not in hub.log_text()


def test_logout_revokes_the_login(upstream: Any, hub: GatehouseServer) -> None:
    """RFC 7009 revocation of our refresh token ends the login (the client's "log out")."""
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        client_id = register(hub, http)
        params, verifier = sign_in_without_browser(hub, upstream, http, client_id, "margaret", "margaret@example.com")
        tokens = redeem(hub, http, client_id, params["code"], verifier)
        revoked = http.post(hub.base_url + "/revoke", data={"token": tokens["refresh_token"], "client_id": client_id})
        assert revoked.status_code == 200, revoked.text
        after = http.post(hub.base_url + "/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client_id})
        assert after.status_code == 400 and after.json()["error"] == "invalid_grant", after.text


def test_the_callback_is_taken_once_and_only_by_the_browser_that_consented(upstream: Any, hub: GatehouseServer) -> None:
    """The provider's redirect carries a state stored once: a second visit finds nothing, and the
    same redirect opened in another browser (no binding cookie) is refused without a redirect."""
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http, httpx2.Client(timeout=HTTP_TIMEOUT_S) as stranger:
        client_id = register(hub, http)
        verifier, challenge = pkce()
        page = http.get(authorize_url(hub, client_id, challenge))
        hidden = dict(re.findall(r'name="(request_id|csrf_token)" value="([^"]*)"', page.text))
        location = http.post(hub.base_url + "/authorize", data={**hidden, "decision": "approve"}).headers["location"]
        back = http.post(location, data={"sub": "mallory-victim"}).headers["location"]
        elsewhere = stranger.get(back)
        assert elsewhere.status_code == 400 and "location" not in elsewhere.headers, elsewhere.text[:300]
        assert "another browser" in elsewhere.text
        # The stranger's attempt used the state up: the real browser must start again too.
        replay = http.get(back)
        assert replay.status_code == 400 and "already completed" in replay.text, replay.text[:300]


def test_a_form_without_the_browser_cookie_goes_nowhere(upstream: Any, hub: GatehouseServer) -> None:
    """Consent is CSRF-protected: the hidden fields posted without the page's cookie are refused."""
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        client_id = register(hub, http)
        _, challenge = pkce()
        page = http.get(authorize_url(hub, client_id, challenge))
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        cookie = page.headers["set-cookie"]
        assert cookie.startswith("gatehouse_browser_") and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
        hidden = dict(re.findall(r'name="(request_id|csrf_token)" value="([^"]*)"', page.text))
        forged = httpx2.post(hub.base_url + "/authorize", data={**hidden, "decision": "approve"}, timeout=HTTP_TIMEOUT_S)
        assert forged.status_code == 400 and "location" not in forged.headers, forged.text[:300]


def test_consent_is_remembered_for_the_user_and_client(upstream: Any, hub: GatehouseServer) -> None:
    """After one consent, the same browser (its session cookie) goes straight to the provider for
    the same client; another client still gets the consent page."""
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        client_id = register(hub, http)
        params, _ = sign_in_without_browser(hub, upstream, http, client_id, "barbara", "barbara@example.com")
        assert "code" in params
        assert any(cookie.name.startswith("gatehouse_session_") for cookie in http.cookies.jar)
        _, challenge = pkce()
        again = http.get(authorize_url(hub, client_id, challenge))
        assert again.status_code == 303 and again.headers["location"].startswith(upstream.issuer + "/oauth2/authorize?"), again.text[:300]
        other = http.get(authorize_url(hub, register(hub, http, "another client"), challenge))
        assert other.status_code == 200 and "Continue with Mock IdP" in other.text


def test_denying_at_the_provider_says_so(upstream: Any, hub: GatehouseServer) -> None:
    """oidc-provider-mock answers a denial with access_denied but without the state (RFC 6749
    §4.1.2.1 wants it), so Gatehouse cannot know which application to answer: it shows a page
    that says the sign-in was cancelled, and redirects nowhere."""
    with chromium_browser() as browser:
        context = browser.new_context()
        keep_to_loopback(context)
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
            client_id = register(hub, http)
        _, challenge = pkce()
        page.goto(authorize_url(hub, client_id, challenge))
        consent_and_continue(page)
        page.wait_for_url(re.compile(r".*/oauth2/authorize.*"))
        deny_oidc_mock_sign_in(page)
        page.wait_for_url(re.compile(r".*/auth/callback\?.*"))
        assert "was cancelled" in page.locator("[role=alert]").inner_text()
        context.close()


def test_denying_on_the_consent_page_tells_the_client(upstream: Any, hub: GatehouseServer) -> None:
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        client_id = register(hub, http)
        _, challenge = pkce()
        page = http.get(authorize_url(hub, client_id, challenge))
        hidden = dict(re.findall(r'name="(request_id|csrf_token)" value="([^"]*)"', page.text))
        denied = http.post(hub.base_url + "/authorize", data={**hidden, "decision": "deny"})
        assert denied.status_code == 303, denied.text[:300]
        params = query(denied.headers["location"])
        assert params["error"] == "access_denied" and params["state"] == "client-state", params


def test_a_client_given_the_upstream_client_id_signs_in_with_its_redirect_uri_checked(upstream: Any, hub: GatehouseServer) -> None:
    """As FastMCP accepts for claude.ai: a client that was given the provider's client id uses it
    as its own client_id, without registering; only the configured redirect URIs are accepted
    (loopback on any port, claude.ai's callback), never another."""
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        verifier, challenge = pkce()
        base = {"response_type": "code", "client_id": UPSTREAM_CLIENT_ID, "code_challenge": challenge,
                "code_challenge_method": "S256", "state": "direct", "resource": hub.mcp_url}
        page = http.get(hub.base_url + "/authorize", params={**base, "redirect_uri": "http://127.0.0.1:43123/callback"})
        assert page.status_code == 200 and "Continue with Mock IdP" in page.text, page.text[:300]
        refused = http.get(hub.base_url + "/authorize", params={**base, "redirect_uri": "https://attacker.example/callback"})
        assert refused.status_code == 400 and "location" not in refused.headers, refused.text[:300]
        assert "redirect_uri" in refused.text


def test_an_unreachable_provider_gets_a_page_and_the_client_an_error(tmp_path: Path) -> None:
    """The provider goes down while the person is signing in there: Gatehouse cannot redeem the
    code, so the callback shows a 503 page saying the provider cannot be reached, with a link back
    to the application carrying temporarily_unavailable (and the client's state)."""
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        with oidc_upstream() as doomed:
            server = upstream_hub("upstream-down", doomed)
            client_id = register(server, http)
            _, challenge = pkce()
            page = http.get(authorize_url(server, client_id, challenge))
            hidden = dict(re.findall(r'name="(request_id|csrf_token)" value="([^"]*)"', page.text))
            location = http.post(server.base_url + "/authorize", data={**hidden, "decision": "approve"}).headers["location"]
            back = http.post(location, data={"sub": "stranded"}).headers["location"]
        try:
            stranded = http.get(back)
            assert stranded.status_code == 503, stranded.text[:500]
            assert "cannot be reached" in stranded.text
            link = re.search(r'href="([^"]+)"', stranded.text)
            assert link, stranded.text
            params = query(link.group(1).replace("&amp;", "&"))
            assert params["error"] == "temporarily_unavailable" and params["state"] == "client-state", params
            assert "event=upstream_unavailable" in server.log_text()
        finally:
            server.stop()


def test_start_up_refuses_a_provider_that_cannot_be_discovered(tmp_path: Path) -> None:
    """A wrong issuer stops start-up with what is wrong (unless --lazy-provider)."""
    process = subprocess.run(
        [str(BINARY), "hub", "--port", "0", "--database-path", str(tmp_path / "hub.db"),
         "--env", "GATEHOUSE_UPSTREAM_ISSUER=http://127.0.0.1:9", "--env", "GATEHOUSE_UPSTREAM_CLIENT_ID=x",
         "--env", "GATEHOUSE_UPSTREAM_CLIENT_SECRET=y"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert process.returncode != 0
    assert "cannot be discovered" in process.stderr and "127.0.0.1:9" in process.stderr, process.stderr
