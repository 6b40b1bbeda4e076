"""The embedded authorization server's sign-in and consent page, driven in a real browser.

Headless Chromium (Debian's `chromium` package, at /usr/bin/chromium or $GATEHOUSE_CHROMIUM) is
driven with Playwright (PyPI, pinned in requirements.txt; its own browser downloads are never
used). A client registers itself (RFC 7591), the browser opens /authorize, a person's steps are
played on the page (type the email and password, press a button) and the browser follows the
303 to a callback server in this process. The code it carries is then exchanged at /token and
the token used on /mcp, so the page is tested end to end: rendering and escaping, the CSRF
cookie, wrong passwords, denial, and that the page cannot be framed.

Chromium that is missing or cannot start fails these tests with the reason; nothing is skipped.

Environment:
  GATEHOUSE_CHROMIUM            the browser binary (default /usr/bin/chromium)
  GATEHOUSE_UPDATE_SCREENSHOT=1 also write docs/images/sign-in.png (the consent page, 900x700)
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import jwt
import pytest

from browser import chromium_browser
from conftest import REPO_ROOT, GatehouseServer, start_extra_server
from mcp_wire import envelope, modern_headers

SCREENSHOT = REPO_ROOT / "docs" / "images" / "sign-in.png"
VIEWPORT = {"width": 900, "height": 700}
PAGE_TIMEOUT_MS = 10_000
HTTP_TIMEOUT_S = 5.0

EMAIL = "alice@example.com"
PASSWORD = "correct horse battery staple"
WRONG_PASSWORD = "Wrong email or password."


# --------------------------------------------------------------------------------------
# A hub with the embedded authorization server and one user
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub() -> Iterator[GatehouseServer]:
    """`gatehouse hub` with its default provider, the embedded authorization server (issuer
    http://127.0.0.1:PORT, sign-in page on), and the user alice@example.com."""
    server = GatehouseServer("sign-in", ["--provider", "embedded"])
    try:
        server.add_user(EMAIL, "Alice", PASSWORD)
        server.start()
    except (RuntimeError, AssertionError) as error:
        server.stop(check=False)
        pytest.fail(f"could not start the sign-in hub: {error}\n--- server output ---\n{server.log_text()}", pytrace=False)
    try:
        yield server
    finally:
        server.stop(check=True)


# --------------------------------------------------------------------------------------
# The client's side: a loopback callback server (RFC 8252) that records what arrives
# --------------------------------------------------------------------------------------


class _CallbackHandler(BaseHTTPRequestHandler):
    server: "CallbackServer"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/callback":
            self.server.record(self.path)
            body = "<!doctype html><title>Callback</title><p id=done>Back at the client.</p>"
        elif url.path in self.server.pages:
            body = self.server.pages[url.path]
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class CallbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CallbackHandler)
        self.lock = threading.Lock()
        self.callbacks: list[dict[str, str]] = []
        # Extra pages served at other paths (the framing and cross-site tests).
        self.pages: dict[str, str] = {}

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/callback"

    def record(self, path: str) -> None:
        params = {k: v[0] for k, v in parse_qs(urlsplit(path).query, keep_blank_values=True).items()}
        with self.lock:
            self.callbacks.append(params)

    def only_callback(self) -> dict[str, str]:
        with self.lock:
            assert len(self.callbacks) == 1, f"expected one callback, got {self.callbacks}"
            return self.callbacks[0]


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


@dataclass
class Authorization:
    """One authorization request a client is about to send the browser to."""

    hub: GatehouseServer
    client_id: str
    redirect_uri: str
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def url(self) -> str:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": self.state,
            "resource": self.hub.mcp_url,
        }
        return f"{self.hub.base_url}/authorize?{urlencode(query)}"

    def exchange(self, code: str) -> dict[str, Any]:
        response = httpx2.post(
            self.hub.base_url + "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": self.verifier,
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
            },
            timeout=HTTP_TIMEOUT_S,
        )
        assert response.status_code == 200, f"/token answered {response.status_code}: {response.text}"
        return response.json()


def register(hub: GatehouseServer, redirect_uri: str, client_name: str) -> str:
    """Dynamic client registration of a public client; returns its client_id."""
    response = httpx2.post(
        hub.base_url + "/register",
        json={
            "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "client_name": client_name,
        },
        timeout=HTTP_TIMEOUT_S,
    )
    assert response.status_code == 201, f"/register answered {response.status_code}: {response.text}"
    return response.json()["client_id"]


def new_authorization(hub: GatehouseServer, callback: CallbackServer, client_name: str = "Chromium Test") -> Authorization:
    return Authorization(hub, register(hub, callback.redirect_uri, client_name), callback.redirect_uri)


def call_whoami(hub: GatehouseServer, access_token: str) -> dict[str, Any]:
    """tools/call whoami over the stateless 2026-07-28 protocol with the bearer token."""
    response = httpx2.post(
        hub.mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/call",
              "params": {"name": "whoami", "arguments": {}, "_meta": envelope()}},  # fmt: skip
        headers={**modern_headers("tools/call", name="whoami"), "Authorization": f"Bearer {access_token}"},
        timeout=HTTP_TIMEOUT_S,
    )
    assert response.status_code == 200, f"/mcp answered {response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert "result" in body, body
    return body["result"]


# --------------------------------------------------------------------------------------
# The browser
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium from the system (never a Playwright download). Fails, never skips."""
    try:
        with chromium_browser() as chromium:
            yield chromium
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)


@dataclass
class Tab:
    """One page in a fresh browser context, with what the browser saw while on it."""

    page: Any
    context: Any
    console: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)

    def open(self, url: str):
        response = self.page.goto(url)
        assert response is not None, f"no response for {url}"
        return response


@pytest.fixture
def tab(browser) -> Iterator[Tab]:
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", color_scheme="light")
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    opened = Tab(page, context)
    page.on("console", lambda message: opened.console.append(f"{message.type}: {message.text}"))
    page.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("response", lambda response: opened.responses.append(response))
    try:
        yield opened
    finally:
        context.close()


def last_response_to(tab: Tab, method: str, path: str):
    for response in reversed(tab.responses):
        url = urlsplit(response.url)
        if response.request.method == method and url.path == path:
            return response
    raise AssertionError(f"the browser sent no {method} {path}: {[r.url for r in tab.responses]}")


def consent_page_headers_are_strict(headers: dict[str, str]) -> None:
    """No framing, no caching, no script, no referrer."""
    csp = headers.get("content-security-policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", csp
    assert directives.get("default-src") == "default-src 'none'", csp
    assert "script-src" not in directives and "script-src-elem" not in directives, csp
    assert headers.get("x-frame-options", "").upper() == "DENY", headers
    assert "no-store" in headers.get("cache-control", ""), headers
    assert headers.get("referrer-policy") == "no-referrer", headers
    assert headers.get("content-type", "").startswith("text/html"), headers


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------


def test_sign_in_page_escapes_the_client_name(hub: GatehouseServer, callback: CallbackServer, tab: Tab) -> None:
    """A self-registered client's name is text on the page, never markup: no script element,
    no dialog, the name shown literally in the heading and the title."""
    evil = "<script>alert(1)</script> Evil"
    authorization = new_authorization(hub, callback, evil)
    response = tab.open(authorization.url)
    assert response.status == 200, response.status
    consent_page_headers_are_strict(response.headers)
    page = tab.page

    assert page.locator("h1 strong").inner_text() == evil
    assert evil in page.title()
    assert page.locator("script").count() == 0
    assert "<script>" not in page.locator("h1").inner_html()
    assert html.escape(evil, quote=False) in page.content()
    # Where the user is sent afterwards, and for which resource.
    assert page.locator(".note strong").inner_text() == "127.0.0.1"
    assert hub.mcp_url in page.locator("main").inner_text()
    # The form the user fills in: hidden request id and CSRF token, the two buttons.
    assert page.locator("input[name=request_id][type=hidden]").count() == 1
    assert page.locator("input[name=csrf_token][type=hidden]").count() == 1
    assert page.locator("button[name=decision][value=approve]").is_visible()
    assert page.locator("button[name=decision][value=deny]").is_visible()
    assert tab.dialogs == [], tab.dialogs
    assert callback.callbacks == []


def test_sign_in_and_approve_reaches_the_client_and_the_token_works(
    hub: GatehouseServer, callback: CallbackServer, tab: Tab
) -> None:
    """Type the email and password, press "Sign in and allow": the browser lands on the client's
    callback with code, state and iss; the code buys an ES256 token that /mcp accepts as alice."""
    authorization = new_authorization(hub, callback)
    tab.open(authorization.url)
    page = tab.page

    binding = next((c for c in tab.context.cookies() if c["name"].startswith("gatehouse_browser_")), None)
    assert binding is not None, tab.context.cookies()
    assert binding["httpOnly"] is True and binding["sameSite"] == "Strict" and binding["path"] == "/", binding
    # The cookie binds the page to this browser; the form's own CSRF token is a different secret.
    assert len(binding["value"]) == 43
    assert binding["value"] != page.locator("input[name=csrf_token]").get_attribute("value")

    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[value=approve]")
    page.wait_for_url(callback.redirect_uri + "?*")
    assert page.locator("#done").inner_text() == "Back at the client."

    redirect = last_response_to(tab, "POST", "/authorize")
    assert redirect.status == 303, redirect.status
    assert f"{binding['name']}={binding['value']}" in redirect.request.all_headers().get("cookie", ""), "no browser cookie sent"
    assert redirect.headers.get("cache-control") == "no-store", redirect.headers
    params = callback.only_callback()
    assert set(params) == {"code", "state", "iss"}, params
    assert params["state"] == authorization.state
    assert params["iss"] == hub.base_url  # RFC 9207

    tokens = authorization.exchange(params["code"])
    assert tokens["token_type"].lower() == "bearer", tokens
    assert tokens.get("refresh_token"), tokens
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "ES256", header
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["email"] == EMAIL, claims
    assert claims["iss"] == hub.base_url, claims
    assert claims["aud"] in (hub.mcp_url, [hub.mcp_url]), claims

    result = call_whoami(hub, tokens["access_token"])
    assert result.get("isError") is not True, result
    who = result["structuredContent"]
    assert who["email"] == EMAIL and who["authenticated"] is True, who
    assert who["issuer"] == hub.base_url, who
    assert who["client_id"] == authorization.client_id, who
    assert EMAIL in json.dumps(result["content"]), result

    # The code is single use: a second exchange is refused.
    again = httpx2.post(
        hub.base_url + "/token",
        data={"grant_type": "authorization_code", "code": params["code"], "code_verifier": authorization.verifier,
              "client_id": authorization.client_id, "redirect_uri": authorization.redirect_uri},  # fmt: skip
        timeout=HTTP_TIMEOUT_S,
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text
    assert tab.dialogs == []


def test_wrong_password_stays_on_the_page_then_the_right_one_works(
    hub: GatehouseServer, callback: CallbackServer, tab: Tab
) -> None:
    """A wrong password shows the error on the same page (401), keeps the email, sends nothing to
    the client; the right password on that page then signs in."""
    authorization = new_authorization(hub, callback)
    tab.open(authorization.url)
    page = tab.page
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", "not the password")
    page.click("button[value=approve]")
    page.wait_for_selector("p.problem[role=alert]")

    assert page.locator("p.problem[role=alert]").inner_text() == WRONG_PASSWORD
    assert urlsplit(page.url).path == "/authorize" and urlsplit(page.url).port == hub.port, page.url
    failed = last_response_to(tab, "POST", "/authorize")
    assert failed.status == 401, failed.status
    consent_page_headers_are_strict(failed.headers)
    assert page.locator("input[name=email]").input_value() == EMAIL
    assert page.locator("input[name=password]").input_value() == ""
    assert callback.callbacks == []

    page.fill("input[name=password]", PASSWORD)
    page.click("button[value=approve]")
    page.wait_for_url(callback.redirect_uri + "?*")
    params = callback.only_callback()
    assert params["state"] == authorization.state and "code" in params, params
    assert authorization.exchange(params["code"])["access_token"]


def test_two_sign_in_pages_in_one_browser_both_work(hub: GatehouseServer, callback: CallbackServer, tab: Tab) -> None:
    """Two sign-in pages open in two tabs of one browser (a client connecting twice, a retried
    login): signing in on the first still works after the second was opened."""
    first = new_authorization(hub, callback)
    second = new_authorization(hub, callback)
    tab.open(first.url)
    other_tab = tab.context.new_page()
    assert other_tab.goto(second.url) is not None
    page = tab.page
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[value=approve]")
    page.wait_for_url(callback.redirect_uri + "?*")
    params = callback.only_callback()
    assert params["state"] == first.state and "code" in params, params
    assert first.exchange(params["code"])["access_token"]


def test_wrong_passwords_slow_the_account_down_and_the_client_is_never_told_denied(callback: CallbackServer, tab: Tab) -> None:
    """Five wrong passwords are free; the sixth says how long to wait, the seventh is not even
    checked (429 with Retry-After, and the page says why). The request stays open and the client
    is never sent an error: a person who mistyped can still sign in once the wait is over. (Its
    own hub and user, so the other tests' attempts do not count.)"""
    hub = start_extra_server("sign-in-throttle", ["--provider", "embedded"])
    try:
        hub.add_user("mallet@example.com", "Mallet", PASSWORD)
        authorization = new_authorization(hub, callback)
        tab.open(authorization.url)
        page = tab.page
        for attempt in range(1, 8):
            page.fill("input[name=email]", "mallet@example.com")
            page.fill("input[name=password]", f"wrong password {attempt}")
            page.click("button[value=approve]")
            page.wait_for_selector("p.problem[role=alert]")
            response = last_response_to(tab, "POST", "/authorize")
            alert = page.inner_text("p.problem[role=alert]")
            if attempt <= 5:
                assert response.status == 401 and alert == WRONG_PASSWORD, (attempt, response.status, alert)
            elif attempt == 6:
                assert response.status == 401 and "wait 1 second" in alert, (attempt, alert)
            else:
                assert response.status == 429, (attempt, response.status)
                assert response.headers.get("retry-after"), response.headers
                assert "Too many failed sign-ins for this account" in alert, alert
            assert callback.callbacks == [], f"attempt {attempt}"
        page.wait_for_timeout(1_500)  # the sixth failure asked for one second
        page.fill("input[name=email]", "mallet@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[value=approve]")
        page.wait_for_url(callback.redirect_uri + "?*")
        params = callback.only_callback()
        assert "code" in params and params["state"] == authorization.state, params
        assert authorization.exchange(params["code"])["access_token"]
    finally:
        hub.stop()


def test_deny_sends_the_user_back_with_access_denied(hub: GatehouseServer, callback: CallbackServer, tab: Tab) -> None:
    """Deny needs no email or password (formnovalidate) and returns error=access_denied with
    state and iss, no code."""
    authorization = new_authorization(hub, callback)
    tab.open(authorization.url)
    tab.page.click("button[value=deny]")
    tab.page.wait_for_url(callback.redirect_uri + "?*")
    params = callback.only_callback()
    assert params["error"] == "access_denied", params
    assert params["state"] == authorization.state and params["iss"] == hub.base_url, params
    assert "code" not in params, params


def test_sign_in_page_cannot_be_framed(hub: GatehouseServer, callback: CallbackServer, tab: Tab) -> None:
    """A page on another origin that frames /authorize gets no sign-in form in its frame
    (frame-ancestors 'none', X-Frame-Options DENY): no clickjacking of the approve button."""
    authorization = new_authorization(hub, callback)
    callback.pages["/frame"] = (
        "<!doctype html><title>Framer</title><h1>Framer</h1>"
        f'<iframe id=victim name=victim width=800 height=500 src="{html.escape(authorization.url)}"></iframe>'
    )
    tab.open(f"http://127.0.0.1:{callback.port}/frame")
    frame_response = None
    for _ in range(50):
        try:
            frame_response = last_response_to(tab, "GET", "/authorize")
            break
        except AssertionError:
            tab.page.wait_for_timeout(100)
    assert frame_response is not None, "the iframe never requested /authorize"
    # The page was fetched, but the browser refused to show it in the frame.
    consent_page_headers_are_strict(frame_response.headers)
    tab.page.wait_for_timeout(300)
    victim = tab.page.frame(name="victim")
    assert victim is not None, [f.url for f in tab.page.frames]
    assert victim.locator("form").count() == 0, f"the sign-in form rendered inside a frame ({victim.url})"
    assert victim.locator("input[name=password]").count() == 0
    assert not victim.url.startswith(hub.base_url), f"the frame shows {victim.url}"
    blocked = [m for m in tab.console if "frame-ancestors" in m or "X-Frame-Options" in m]
    assert blocked, f"Chromium logged no framing refusal; console: {tab.console}"


def test_form_without_the_csrf_cookie_is_refused(hub: GatehouseServer, callback: CallbackServer, tab: Tab) -> None:
    """The form alone is not enough: without the gatehouse_browser_… cookie (another browser, or a
    cross-site post, which SameSite=Strict strips) the hub answers 400 and redirects nowhere."""
    authorization = new_authorization(hub, callback)
    tab.open(authorization.url)
    tab.context.clear_cookies()
    page = tab.page
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[value=approve]")
    page.wait_for_load_state()
    refused = last_response_to(tab, "POST", "/authorize")
    assert refused.status == 400, refused.status
    assert "gatehouse_browser_" not in refused.request.all_headers().get("cookie", "")
    assert "not opened in this browser" in page.locator("p.problem").inner_text()
    assert page.locator("form").count() == 0
    assert callback.callbacks == []


def test_cross_site_form_post_carries_no_cookie(hub: GatehouseServer, callback: CallbackServer, tab: Tab) -> None:
    """Login CSRF: a page on another site (http://localhost, not 127.0.0.1) that somehow knows the
    request id and CSRF token posts the form with the user's browser; SameSite=Strict keeps the
    cookie back, so the hub refuses it and signs no one in."""
    authorization = new_authorization(hub, callback)
    tab.open(authorization.url)
    request_id = tab.page.locator("input[name=request_id]").get_attribute("value")
    csrf_token = tab.page.locator("input[name=csrf_token]").get_attribute("value")
    callback.pages["/attack"] = (
        "<!doctype html><title>Attacker</title>"
        f'<form method=post action="{hub.base_url}/authorize">'
        f'<input type=hidden name=request_id value="{html.escape(request_id or "")}">'
        f'<input type=hidden name=csrf_token value="{html.escape(csrf_token or "")}">'
        f'<input type=hidden name=email value="{EMAIL}"><input type=hidden name=password value="{PASSWORD}">'
        "<button name=decision value=approve>Win a prize</button></form>"
    )
    tab.open(f"http://localhost:{callback.port}/attack")
    tab.page.click("button")
    tab.page.wait_for_load_state()
    refused = last_response_to(tab, "POST", "/authorize")
    assert refused.status == 400, refused.status
    assert "cookie" not in refused.request.all_headers(), refused.request.all_headers()
    assert callback.callbacks == []


def test_consent_page_screenshot(hub: GatehouseServer, callback: CallbackServer, tab: Tab, tmp_path: Path) -> None:
    """The consent page as a user sees it, for the docs. Written to docs/images/sign-in.png
    only with GATEHOUSE_UPDATE_SCREENSHOT=1; otherwise to a temp file (so rendering still runs)."""
    authorization = new_authorization(hub, callback, "Claude Code")
    tab.open(authorization.url)
    page = tab.page
    page.fill("input[name=email]", EMAIL)
    page.locator("input[name=password]").focus()
    assert page.locator("h1 strong").inner_text() == "Claude Code"
    update = os.environ.get("GATEHOUSE_UPDATE_SCREENSHOT") == "1"
    target = SCREENSHOT if update else tmp_path / "sign-in.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target))
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), target
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (VIEWPORT["width"], VIEWPORT["height"]), (width, height)
