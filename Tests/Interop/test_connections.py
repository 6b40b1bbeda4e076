"""Per-user connections (GATEHOUSE_CONNECTIONS=true): a hub user adds a remote MCP server of
their own and signs in to it; the hub is then that server's OAuth client on the user's behalf.

The remote server is peers/sdk_auth_server.py: the official Python SDK's MCPServer that is its
own authorization server (the SDK's /register, /authorize with PKCE, /token, refresh rotation),
with access tokens that live 3 s so the hub must refresh them. The hub is a `gatehouse hub` with
the embedded authorization server (password sign-in) and two local users.

What is checked, with software nobody on the team wrote:
  - the official SDK client (2025-11-25 session, declaring URL-mode elicitation) calls
    connect_mcp_server and gets JSON-RPC -32042 with a /connect link (elicitation, 2025-11-25);
  - headless Chromium opens the link: the page asks for a Gatehouse sign-in as the account the
    link is for, then goes on to the server's /authorize, whose answer comes back to the hub's
    /connect/callback; the server's tools then appear in that user's tools/list only, as sdk_*;
  - the tokens are sealed in the database and never logged; they are refreshed; a server-side
    revocation turns the tools into a "sign in again" elicitation; a restart keeps the connection;
  - the phishing rule: a link opened in a browser signed in as someone else is refused;
  - a client that declares no URL elicitation gets a tool error carrying the link.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import time
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp import types
from mcp.shared.exceptions import MCPError, UrlElicitationRequiredError

from browser import chromium_browser, keep_to_loopback
from conftest import HTTP_TIMEOUT_S, GatehouseServer, PeerServer, serve_peer, start_extra_server
from mcp_wire import MODERN
from test_gateway import with_client
from test_hub import RawUser, sign_in

URL_ELICITATION_REQUIRED = -32042
ALICE, ALICE_PASSWORD = "alice@example.com", "alice's long password"
BOB, BOB_PASSWORD = "bob@example.com", "bob's long password"
PAGE_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def peer():
    """The official SDK's MCP server that is its own authorization server, with access tokens that live 3 s."""
    yield from serve_peer("connections-sdk-auth", "sdk_auth_server.py", ["--access-token-ttl", "3"])


@pytest.fixture(scope="module")
def hub():
    secret = base64.b64encode(os.urandom(32)).decode()
    server = start_extra_server(
        "connections", ["--provider", "embedded"],
        env={"GATEHOUSE_SECRET_KEY": secret, "GATEHOUSE_CONNECTIONS": "true", "GATEHOUSE_CONNECTIONS_ALLOW_PRIVATE": "true"})
    try:
        server.add_user(ALICE, "Alice", ALICE_PASSWORD)
        server.add_user(BOB, "Bob", BOB_PASSWORD)
        yield server
    finally:
        server.stop()


def peer_requests(peer: PeerServer, path: str) -> list[dict[str, Any]]:
    response = httpx2.get(peer.base_url + "/_peer/requests", timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    return [entry for entry in response.json() if entry["path"] == path]


def elicitation_of(error: MCPError) -> tuple[str, str]:
    """The URL and message of a -32042 error, read with the SDK's own parser."""
    assert error.code == URL_ELICITATION_REQUIRED, error.error
    parsed = UrlElicitationRequiredError.from_error(error.error)
    assert len(parsed.elicitations) == 1, error.error
    elicitation = parsed.elicitations[0]
    assert elicitation.mode == "url" and elicitation.elicitation_id, elicitation
    return elicitation.url, elicitation.message


async def never_elicited(*_: Any) -> Any:
    raise AssertionError("the hub sent elicitation/create; it answers -32042 instead")


def sdk_call(hub: GatehouseServer, token: str, name: str, arguments: dict[str, Any]) -> Any:
    """tools/call through the official SDK client in a 2025-11-25 session that declares URL
    elicitation; returns the result, or the MCPError it raised."""

    async def body(client: Client) -> Any:
        try:
            return await client.call_tool(name, arguments)
        except MCPError as error:
            return error

    return with_client(hub.mcp_url, "legacy", token, body, elicitation_callback=never_elicited)


def sdk_tool_names(hub: GatehouseServer, token: str) -> list[str]:
    async def body(client: Client) -> list[str]:
        return sorted(tool.name for tool in (await client.list_tools()).tools)

    return with_client(hub.mcp_url, "legacy", token, body, elicitation_callback=never_elicited)


def connect_in_browser(context: Any, url: str, email: str | None, password: str | None) -> Any:
    """Opens a connect link in `context`; signs in to Gatehouse with `email` when the page asks
    (a browser that is already signed in goes straight on). Returns the page where it ends."""
    page = context.new_page()
    page.goto(url, timeout=PAGE_TIMEOUT_MS)
    if page.locator("input[name=password]").count():
        assert email and password, page.content()[:800]
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        if page.get_by_role("link", name=re.compile("Continue to")).count():
            with page.expect_navigation(url=re.compile(r"/connect/callback"), timeout=PAGE_TIMEOUT_MS):
                page.get_by_role("link", name=re.compile("Continue to")).click()
    page.wait_for_load_state()
    return page


def test_a_user_connects_their_server_and_only_they_get_its_tools(hub: GatehouseServer, peer: PeerServer) -> None:
    alice_token, bob_token = sign_in(hub, ALICE, ALICE_PASSWORD), sign_in(hub, BOB, BOB_PASSWORD)
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        bob = RawUser(hub, bob_token, http, "bob")

        # 1. Adding the server asks for a sign-in through URL elicitation.
        asked = sdk_call(hub, alice_token, "connect_mcp_server", {"name": "sdk", "url": peer.mcp_url})
        assert isinstance(asked, MCPError), asked
        link, message = elicitation_of(asked)
        assert link.startswith(hub.base_url + "/connect?request="), link
        assert "Sign in to sdk" in message, message
        assert "sdk_connect" in sdk_tool_names(hub, alice_token)
        assert hub.query("SELECT name, server_url, status FROM user_connections") == [("sdk", peer.mcp_url, "pending")]

        # Playwright's sync API runs an event loop of its own in this thread: the SDK client
        # runs between the browser sessions, and Alice's cookies are carried from one to the next.
        with chromium_browser() as browser:
            # 2. The phishing rule: Bob, signed in to his own browser, cannot complete Alice's link.
            bobs_browser = browser.new_context()
            keep_to_loopback(bobs_browser)
            page = bobs_browser.new_page()
            page.goto(link, timeout=PAGE_TIMEOUT_MS)
            page.fill("input[name=email]", BOB)
            page.fill("input[name=password]", BOB_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            assert "That account is not the one this link is for." in page.content()
            assert not peer_requests(peer, "/authorize"), "Bob's browser reached the server"

            # 3. Alice's browser: Gatehouse sign-in as Alice, on to the server, back to the hub.
            alices_browser = browser.new_context()
            keep_to_loopback(alices_browser)
            page = connect_in_browser(alices_browser, link, ALICE, ALICE_PASSWORD)
            assert page.url.startswith(hub.base_url + "/connect/callback?"), page.url
            assert "Connected sdk" in page.content(), page.content()[:800]
            alices_cookies = alices_browser.storage_state()

        # 4. Her tools: the server's add, namespaced; not Bob's.
        assert {"sdk_add"} <= set(sdk_tool_names(hub, alice_token)) and "sdk_connect" not in sdk_tool_names(hub, alice_token)
        result = sdk_call(hub, alice_token, "sdk_add", {"a": 2, "b": 3})
        assert not isinstance(result, MCPError) and result.is_error is not True, result
        assert result.structured_content == {"result": 5}, result
        assert not [name for name in bob.tool_names() if name.startswith("sdk_")]
        bob.unknown_tool("sdk_add", {"a": 1, "b": 1})

        # 5. Sealed at rest, never logged.
        [(status, sealed)] = hub.query("SELECT status, sealed_login FROM user_connections")
        assert status == "connected" and re.fullmatch(r"[A-Za-z0-9_-]{100,}", sealed), sealed[:80]
        assert base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4)).startswith(b"GHS1")
        log = hub.log_text()
        assert "access_token" not in log and "Bearer " not in log

        # 6. The access token lives 3 s: the next call refreshes it first.
        refreshes = len([r for r in peer_requests(peer, "/token") if r.get("form", {}).get("grant_type") == "refresh_token"])
        time.sleep(3.5)
        result = sdk_call(hub, alice_token, "sdk_add", {"a": 20, "b": 22})
        assert not isinstance(result, MCPError) and result.structured_content == {"result": 42}, result
        after = [r for r in peer_requests(peer, "/token") if r.get("form", {}).get("grant_type") == "refresh_token"]
        assert len(after) > refreshes and after[-1]["status"] == 200, after
        assert after[-1]["form"]["resource"] == peer.mcp_url, after[-1]

        # 7. The server revokes every grant: the tools ask Alice to sign in again.
        assert httpx2.post(peer.base_url + "/_peer/revoke-all", timeout=HTTP_TIMEOUT_S).status_code == 200
        again = sdk_call(hub, alice_token, "sdk_add", {"a": 1, "b": 2})
        assert isinstance(again, MCPError), again
        relink, message = elicitation_of(again)
        assert "sdk needs you to sign in to it again" in message, message
        assert hub.query("SELECT status FROM user_connections") == [("reconnect_needed",)]
        # A client that cannot be asked gets the link in a tool error.
        alice_raw = RawUser(hub, alice_token, http, "alice")
        assert "sdk_connect" in alice_raw.tool_names()
        text = alice_raw.tool_error("sdk_connect", {})
        assert "sign in to it again" in text and hub.base_url + "/connect?request=" in text, text

        # 8. A restart keeps the connection; Alice's browser is still signed in to Gatehouse,
        # so the new link goes straight to the server.
        hub.halt()
        hub.restart()
        with chromium_browser() as browser:
            alices_browser = browser.new_context(storage_state=alices_cookies)
            keep_to_loopback(alices_browser)
            page = connect_in_browser(alices_browser, relink, None, None)
            assert "Connected sdk" in page.content(), page.content()[:800]
        hub.halt()
        hub.restart()
        result = sdk_call(hub, alice_token, "sdk_add", {"a": 3, "b": 4})
        assert not isinstance(result, MCPError) and result.structured_content == {"result": 7}, result

        # 9. Removing the connection forgets the tokens and the tools.
        removed = sdk_call(hub, alice_token, "disconnect_mcp_server", {"name": "sdk"})
        assert not isinstance(removed, MCPError) and removed.is_error is not True, removed
        assert hub.query("SELECT count(*) FROM user_connections") == [(0,)]
        assert not [name for name in sdk_tool_names(hub, alice_token) if name.startswith("sdk_")]


def test_bad_connections_are_refused_with_what_to_fix(hub: GatehouseServer, peer: PeerServer) -> None:
    token = sign_in(hub, BOB, BOB_PASSWORD)
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        bob = RawUser(hub, token, http, "bob")
        assert "url must be an https URL" in bob.tool_error("connect_mcp_server", {"name": "files", "url": "ftp://example.com/mcp"})
        body = bob.call("connect_mcp_server", {"name": "Bad_Name", "url": peer.mcp_url})
        assert "pattern" in str(body), body
        # The first add asks for a sign-in (a tool error with the link: this raw client declared
        # no URL elicitation); the second of the same name is refused.
        assert "/connect?request=" in bob.tool_error("connect_mcp_server", {"name": "files", "url": peer.mcp_url})
        assert "already have a connection named files" in bob.tool_error(
            "connect_mcp_server", {"name": "files", "url": peer.mcp_url})
        assert "no MCP server connection named nothing" in bob.tool_error("disconnect_mcp_server", {"name": "nothing"})
        listed = bob.ok("list_my_connections")
        assert listed["structuredContent"] == {"connections": [{"name": "files", "kind": "mcp_server", "url": peer.mcp_url, "status": "pending"}]}

    # A forged or expired link is refused with a page that says what to do.
    page = httpx2.get(hub.base_url + "/connect?request=forged", timeout=HTTP_TIMEOUT_S)
    assert page.status_code == 400 and "not one this hub made" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    callback = httpx2.get(hub.base_url + "/connect/callback?code=x&state=y", timeout=HTTP_TIMEOUT_S)
    assert callback.status_code == 403 and "not signed in to Gatehouse" in callback.text


def test_a_modern_client_is_asked_with_input_required_and_retries(hub: GatehouseServer, peer: PeerServer) -> None:
    """2026-07-28: the call returns `input_required` embedding a URL-mode elicitation/create; the
    official SDK client presents it (here: headless Chromium signs in, in another thread) and
    retries the call, which now runs. A declined elicitation ends in a tool error with the link."""
    carol, carol_password = "carol@example.com", "carol's long password"
    hub.add_user(carol, "Carol", carol_password)
    token = sign_in(hub, carol, carol_password)
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        assert "/connect?request=" in RawUser(hub, token, http, "carol").tool_error(
            "connect_mcp_server", {"name": "calc", "url": peer.mcp_url})
    asked: list[types.ElicitRequestURLParams] = []

    def sign_in_in_browser(url: str) -> str:
        with chromium_browser() as browser:
            context = browser.new_context()
            keep_to_loopback(context)
            return connect_in_browser(context, url, carol, carol_password).content()

    async def decline(_: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params)
        return types.ElicitResult(action="decline")

    async def accept(_: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params)
        assert isinstance(params, types.ElicitRequestURLParams), params
        page = await asyncio.to_thread(sign_in_in_browser, params.url)
        assert "Connected calc" in page, page[:800]
        return types.ElicitResult(action="accept")

    async def call(client: Client) -> Any:
        return await client.call_tool("calc_add", {"a": 1, "b": 2})

    declined = with_client(hub.mcp_url, MODERN, token, call, elicitation_callback=decline)
    assert declined.is_error is True and "/connect?request=" in declined.content[0].text, declined
    assert len(asked) == 1 and asked[0].mode == "url" and "Sign in to calc" in asked[0].message, asked

    result = with_client(hub.mcp_url, MODERN, token, call, elicitation_callback=accept, timeout=90)
    assert result.is_error is not True and result.structured_content == {"result": 3}, result
    assert len(asked) == 2 and asked[1].url.startswith(hub.base_url + "/connect?request="), asked
    assert hub.query(
        "SELECT c.status FROM user_connections c JOIN users u ON u.id = c.user_id WHERE u.email = ? AND c.name = 'calc'", (carol,)
    ) == [("connected",)]


def test_a_gatehouse_protected_server_is_connected_with_the_hubs_client_metadata_document(hub: GatehouseServer) -> None:
    """The other kind of server: one protected by Gatehouse's own authorization server, which
    accepts Client ID Metadata Documents (from loopback here). The hub signs in with its document
    as the client id, registering nothing, and calls the server's whoami as its user."""
    remote = start_extra_server(
        "connections-remote", ["--provider", "embedded", "--dev-auto-approve", "--env", "GATEHOUSE_CIMD_ALLOW_PRIVATE=true"])
    try:
        dave, dave_password = "dave@example.com", "dave's long password"
        hub.add_user(dave, "Dave", dave_password)
        token = sign_in(hub, dave, dave_password)
        document = httpx2.get(hub.base_url + "/connect/client-metadata.json", timeout=HTTP_TIMEOUT_S).json()
        assert document["client_id"] == hub.base_url + "/connect/client-metadata.json", document
        assert document["redirect_uris"] == [hub.base_url + "/connect/callback"] and document["token_endpoint_auth_method"] == "none"

        asked = sdk_call(hub, token, "connect_mcp_server", {"name": "gh", "url": remote.mcp_url})
        link, _ = elicitation_of(asked)
        with chromium_browser() as browser:
            context = browser.new_context()
            keep_to_loopback(context)
            page = connect_in_browser(context, link, dave, dave_password)
            assert "Connected gh" in page.content(), page.content()[:800]

        result = sdk_call(hub, token, "gh_whoami", {})
        assert not isinstance(result, MCPError) and result.is_error is not True, result
        assert result.structured_content["email"] == "dev@localhost", result.structured_content
        log = remote.log_text()
        assert "registered an OAuth client" not in log, "the hub registered instead of using its document"
        assert "/connect/client-metadata.json" in log or remote.count_rows("oauth_clients") == 0
    finally:
        remote.stop()


def test_without_private_servers_allowed_the_hub_connects_only_to_public_https() -> None:
    """A user cannot point the hub at its own network: http is refused, and so is any host that
    resolves to a loopback or private address."""
    secret = base64.b64encode(os.urandom(32)).decode()
    server = start_extra_server(
        "connections-public", ["--provider", "embedded"], env={"GATEHOUSE_SECRET_KEY": secret, "GATEHOUSE_CONNECTIONS": "true"})
    try:
        server.add_user(ALICE, "Alice", ALICE_PASSWORD)
        with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
            alice = RawUser(server, sign_in(server, ALICE, ALICE_PASSWORD), http, "alice")
            assert "url must be an https URL" in alice.tool_error("connect_mcp_server", {"name": "lan", "url": "http://127.0.0.1:9/mcp"})
            for url in ("https://127.0.0.1:9/mcp", "https://10.0.0.7/mcp", "https://localhost/mcp"):
                refusal = alice.tool_error("connect_mcp_server", {"name": "lan", "url": url})
                assert "private or loopback address" in refusal, (url, refusal)
            assert alice.ok("list_my_connections")["structuredContent"] == {"connections": []}
        # No document is offered on an http base URL: no public server would accept its client id.
        assert httpx2.get(server.base_url + "/connect/client-metadata.json", timeout=HTTP_TIMEOUT_S).status_code == 404
    finally:
        server.stop()
