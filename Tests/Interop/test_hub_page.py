"""The /hub page: a signed-in user's tools, MCP servers, accounts and client snippets, and the
administrator view, driven in headless Chromium (Debian's, through Playwright).

Environment:
  GATEHOUSE_CHROMIUM            the browser binary (default /usr/bin/chromium)
  GATEHOUSE_UPDATE_SCREENSHOT=1 also write docs/images/hub.png and docs/images/hub-admin.png
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any

import httpx2
import pytest

from browser import chromium_browser, keep_to_loopback
from conftest import HTTP_TIMEOUT_S, GatehouseServer, PeerServer, serve_peer, start_extra_server
from test_hub import RawUser, sign_in

ALICE, ALICE_PASSWORD = "alice@example.com", "alice's long password"
ADMIN, ADMIN_PASSWORD = "admin@example.com", "the admin's long password"
VIEWPORT = {"width": 1000, "height": 1100}
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
PAGE_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def peer():
    """The official SDK's MCP server that is its own authorization server."""
    yield from serve_peer("hub-page-sdk-auth", "sdk_auth_server.py")


@pytest.fixture(scope="module")
def hub():
    server = start_extra_server(
        "hub-page", ["--provider", "embedded"],
        env={
            "GATEHOUSE_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(), "GATEHOUSE_CONNECTIONS": "true",
            "GATEHOUSE_CONNECTIONS_ALLOW_PRIVATE": "true", "GATEHOUSE_HUB_ADMINS": f" {ADMIN.upper()} , someone@example.com",
            # Providers for the accounts section (never contacted: the page only links to them).
            "GATEHOUSE_ACCOUNTS": "github,google", "GATEHOUSE_ACCOUNT_GITHUB_CLIENT_ID": "Iv1.page", "GATEHOUSE_ACCOUNT_GOOGLE_CLIENT_ID": "page",
        })
    try:
        server.add_user(ALICE, "Alice", ALICE_PASSWORD)
        server.add_user(ADMIN, "Ada Admin", ADMIN_PASSWORD)
        yield server
    finally:
        server.stop()


def screenshot(page: Any, name: str, tmp_path: Path) -> None:
    """Written to docs/images/NAME only with GATEHOUSE_UPDATE_SCREENSHOT=1 (else a temp file, so
    rendering still runs); checked to be a PNG of the viewport's size."""
    target = IMAGES / name if os.environ.get("GATEHOUSE_UPDATE_SCREENSHOT") == "1" else tmp_path / name
    page.screenshot(path=str(target))
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), target
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (VIEWPORT["width"], VIEWPORT["height"])


def sign_in_on_the_page(context: Any, hub: GatehouseServer, email: str, password: str) -> Any:
    page = context.new_page()
    page.goto(hub.base_url + "/hub", timeout=PAGE_TIMEOUT_MS)
    assert page.locator("h1").inner_text() == "Sign in to your Gatehouse"
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


def test_a_user_sees_their_tools_and_manages_their_servers(hub: GatehouseServer, peer: PeerServer, tmp_path: Path) -> None:
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        alice = RawUser(hub, sign_in(hub, ALICE, ALICE_PASSWORD), http, "alice")
        alice.ok("add_tool", {"tool_name": "notes", "config": {"notebook": "Errands"}})
        alice.ok("add_tool", {"tool_name": "http_fetch", "config": {"allowed_hosts": ["api.example.com"], "authorization": "Bearer s3cret"}})

    response = httpx2.get(hub.base_url + "/hub", timeout=HTTP_TIMEOUT_S)
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "form-action 'self'" in policy and "frame-ancestors 'none'" in policy, policy
    assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"
    # A form posted without this browser's cookie is refused.
    forged = httpx2.post(hub.base_url + "/hub/servers", data={"name": "x", "url": peer.mcp_url, "csrf_token": "x"}, timeout=HTTP_TIMEOUT_S)
    assert forged.status_code == 400 and "not opened in this browser" in forged.text

    with chromium_browser() as browser:
        context = browser.new_context(viewport=VIEWPORT)
        keep_to_loopback(context)
        page = sign_in_on_the_page(context, hub, ALICE, "not the password")
        assert "Wrong email or password." in page.locator("p.problem").inner_text()
        page.get_by_label("Password").fill(ALICE_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Your Gatehouse"
        assert "Signed in as alice@example.com" in page.locator("header").inner_text()
        snippets = page.locator("#connect-heading + p + dl").inner_text()
        assert f"claude mcp add --transport http gatehouse {hub.mcp_url}" in snippets
        assert f'"url": "{hub.mcp_url}"' in snippets and f"gatehouse login {hub.mcp_url}" in snippets
        tools = page.locator("section[aria-labelledby=tools-heading] tbody").inner_text()
        assert "notes" in tools and "Errands" in tools and "http_fetch" in tools
        assert "s3cret" not in page.content() and "********" in tools
        assert page.get_by_role("link", name=re.compile("Administration")).count() == 0
        accounts = page.locator("section[aria-labelledby=accounts-heading] tbody tr")
        assert accounts.count() == 2 and "GitHub" in accounts.nth(0).inner_text() and "Google" in accounts.nth(1).inner_text()
        assert all("Not connected" in accounts.nth(i).inner_text() for i in range(2))
        connect = accounts.nth(0).get_by_role("link", name="Connect: GitHub").get_attribute("href")
        assert connect and connect.startswith(hub.base_url + "/connect?request="), connect

        # Add the SDK's server, sign in to it from the page, then remove it.
        page.get_by_label("Name").fill("sdk")
        page.get_by_label("URL").fill(peer.mcp_url)
        page.get_by_role("button", name="Add server").click()
        page.wait_for_load_state()
        assert "Added sdk." in page.locator("p.notice").inner_text()
        row = page.locator("section[aria-labelledby=servers-heading] tbody tr")
        assert "Not signed in yet" in row.inner_text()
        with page.expect_navigation(url=re.compile(r"/connect/callback"), timeout=PAGE_TIMEOUT_MS):
            row.get_by_role("link", name="Sign in").click()
        assert "Connected sdk" in page.content()
        page.goto(hub.base_url + "/hub", timeout=PAGE_TIMEOUT_MS)
        assert "Connected" in page.locator("section[aria-labelledby=servers-heading] tbody tr").inner_text()
        screenshot(page, "hub.png", tmp_path)

        page.get_by_role("button", name="Remove sdk").click()
        page.wait_for_load_state()
        assert "Removed sdk" in page.locator("p.notice").inner_text()
        assert "None yet." in page.locator("section[aria-labelledby=servers-heading]").inner_text()
        assert hub.query("SELECT count(*) FROM user_connections") == [(0,)]

        # A bad server is refused on the page, saying what to fix.
        page.get_by_label("Name").fill("lan")
        page.get_by_label("URL").fill("ftp://example.com/mcp")
        page.get_by_role("button", name="Add server").click()
        page.wait_for_load_state()
        assert "url must be an https URL" in page.locator("p.notice").inner_text()

        # A link cannot make the page say something else.
        page.goto(hub.base_url + "/hub?done=added&name=%3Cb%3Evisit%20evil%3C/b%3E", timeout=PAGE_TIMEOUT_MS)
        assert page.locator("p.notice").count() == 0

        # The administration page is for administrators only.
        page.goto(hub.base_url + "/hub/admin", timeout=PAGE_TIMEOUT_MS)
        assert "for the hub's administrators" in page.content()

        # Signing out ends the page's session.
        page.goto(hub.base_url + "/hub", timeout=PAGE_TIMEOUT_MS)
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Sign in to your Gatehouse"


def test_administrators_see_every_user_and_their_activity(hub: GatehouseServer, tmp_path: Path) -> None:
    with chromium_browser() as browser:
        context = browser.new_context(viewport=VIEWPORT)
        keep_to_loopback(context)
        page = sign_in_on_the_page(context, hub, ADMIN, ADMIN_PASSWORD)
        page.get_by_role("link", name=re.compile("Administration")).click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Users and their activity"
        rows = {row.locator("th").inner_text(): row.inner_text() for row in page.locator("tbody tr").all()}
        assert ALICE in rows and ADMIN in rows, rows
        assert "notes" in rows[ALICE] and "http_fetch" in rows[ALICE] and "embedded" in rows[ALICE], rows[ALICE]
        headers = [header.inner_text() for header in page.locator("thead th").all()]
        assert headers == ["User", "Name", "Signed in with", "First seen", "Last seen", "Tools", "Connections"], headers
        screenshot(page, "hub-admin.png", tmp_path)
