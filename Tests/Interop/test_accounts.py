"""Account connections (GATEHOUSE_ACCOUNTS): a hub user connects their own account at an OAuth
provider the operator set up, and their http_fetch tool calls the provider's API with their token.

The provider is oidc-provider-mock (peers/oidc_upstream.py), found by discovery from its issuer,
with access tokens that live 3 s so the hub must refresh them; its /userinfo is the "API" (it
answers with the claims the token's scopes allow). The hub is a `gatehouse hub` with the embedded
authorization server (password sign-in), two local users, and no MCP server connections.

What is checked, with software nobody on the team wrote (the official SDK client, the mock
provider, headless Chromium):
  - the first fetch asks Alice to connect her account through URL elicitation (-32042); Chromium
    opens the link, signs in to Gatehouse as Alice and at the provider, and comes back to the
    hub's callback; the fetch then carries her token and gets her claims;
  - Bob's fetch asks Bob to connect his own account: he never gets Alice's token;
  - a tool that needs a scope the account lacks asks for it (and gets it);
  - refresh of a 3 s token;
  - the token goes only to the provider's API hosts; tokens sealed, never logged; a restart
    keeps the account; the /hub page lists it and disconnects it, and the next fetch asks again.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import httpx2
import pytest
from mcp.shared.exceptions import MCPError

from browser import chromium_browser, keep_to_loopback
from conftest import HTTP_TIMEOUT_S, GatehouseServer, start_extra_server
from peers.github_like import CLIENT_ID as GITHUB_CLIENT_ID, CLIENT_SECRET as GITHUB_CLIENT_SECRET, GitHubLike
from peers.oidc_upstream import OidcUpstream, complete_oidc_mock_sign_in, oidc_upstream
from test_connections import elicitation_of, sdk_call, sdk_tool_names
from test_hub import RawUser, sign_in

ALICE, ALICE_PASSWORD = "alice@example.com", "alice's long password"
BOB, BOB_PASSWORD = "bob@example.com", "bob's long password"
CLIENT_ID, CLIENT_SECRET = "gatehouse-accounts", "accounts-client-secret"
PAGE_TIMEOUT_MS = 20_000
# SELECT <columns> of a user's connections, by email.
ALICES, ALICES_ROWS = "SELECT ", " FROM user_connections c JOIN users u ON u.id = c.user_id WHERE u.email = ?"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcUpstream]:
    with oidc_upstream(token_max_age_s=3) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def hub(provider: OidcUpstream) -> Iterator[GatehouseServer]:
    api_host = provider.issuer.removeprefix("http://")
    server = start_extra_server(
        "accounts", [
            "--provider", "embedded", "--env", "GATEHOUSE_ACCOUNTS=mock", "--env", f"GATEHOUSE_ACCOUNT_MOCK_ISSUER={provider.issuer}",
            "--env", f"GATEHOUSE_ACCOUNT_MOCK_CLIENT_ID={CLIENT_ID}", "--env", "GATEHOUSE_ACCOUNT_MOCK_SCOPES=openid",
            "--env", f"GATEHOUSE_ACCOUNT_MOCK_API_HOSTS={api_host}", "--env", "GATEHOUSE_ACCOUNT_MOCK_TITLE=Mock IdP",
            "--env", "GATEHOUSE_FETCH_ALLOW_PRIVATE=true",
        ],
        env={"GATEHOUSE_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(), "GATEHOUSE_ACCOUNT_MOCK_CLIENT_SECRET": CLIENT_SECRET})
    try:
        server.add_user(ALICE, "Alice", ALICE_PASSWORD)
        server.add_user(BOB, "Bob", BOB_PASSWORD)
        yield server
    finally:
        server.stop()


def connect_account(context: Any, link: str, sub: str, *, email: str | None = None, name: str | None = None,
                    password: str | None = None) -> str:
    """Opens a connect link in `context`: signs in to Gatehouse as `email` when the page asks,
    then at the provider as `sub`; returns the hub's page after the callback."""
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(link)
    if page.locator("input[name=password]").count():
        assert email and password, page.content()[:800]
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.get_by_role("link", name=re.compile("Continue to")).click()
    page.wait_for_url(re.compile(r".*/oauth2/authorize.*"))
    with page.expect_navigation(url=re.compile(r".*/connect/callback.*")):
        complete_oidc_mock_sign_in(page, sub, email=email, name=name)
    page.wait_for_load_state()
    content = page.content()
    page.close()
    return content


def token_requests(provider: OidcUpstream) -> int:
    """How many token requests (codes and refreshes) the provider has answered with 200."""
    return len(re.findall(r'"POST /oauth2/token HTTP/1.1" 200', provider.log_text()))


def fetch(hub: GatehouseServer, token: str, url: str) -> Any:
    return sdk_call(hub, token, "http_fetch", {"url": url})


def test_a_user_connects_their_account_and_their_fetches_carry_their_token(hub: GatehouseServer, provider: OidcUpstream) -> None:
    alice_token, bob_token = sign_in(hub, ALICE, ALICE_PASSWORD), sign_in(hub, BOB, BOB_PASSWORD)
    userinfo = provider.issuer + "/userinfo"
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        alice, bob = RawUser(hub, alice_token, http, "alice"), RawUser(hub, bob_token, http, "bob")
        # Accounts only: no MCP server connections are offered.
        names = set(sdk_tool_names(hub, alice_token))
        assert {"connect_account", "disconnect_account", "list_my_connections"} <= names and "connect_mcp_server" not in names, names
        assert "account" in str(alice.ok("list_available_tools")), "http_fetch does not offer the account setting"
        alice.ok("add_tool", {"tool_name": "http_fetch", "config": {"account": "mock", "account_scopes": ["email"]}})
        bob.ok("add_tool", {"tool_name": "http_fetch", "config": {"account": "mock"}})

        # 1. Alice's first fetch asks her to connect the account (the SDK client gets -32042).
        asked = fetch(hub, alice_token, userinfo)
        assert isinstance(asked, MCPError), asked
        link, message = elicitation_of(asked)
        assert link.startswith(hub.base_url + "/connect?request=") and "Connect your Mock IdP account" in message, (link, message)
        assert hub.query("SELECT name, kind, status FROM user_connections") == [("mock", "account", "pending")]

        with chromium_browser() as browser:
            context = browser.new_context()
            keep_to_loopback(context)
            page = connect_account(context, link, "alice-at-mock", email=ALICE, name="Alice A.", password=ALICE_PASSWORD)
            assert "Connected mock" in page, page[:800]
            alices_cookies = context.storage_state()

        # 2. Her fetch carries her token: the provider answers with her claims, email included
        # (the tool's scope, asked for with the provider's openid). The code's access token lives
        # 3 s, inside the hub's 30 s margin: the hub refreshes it before the fetch.
        assert token_requests(provider) == 1
        result = fetch(hub, alice_token, userinfo)
        assert not isinstance(result, MCPError) and result.is_error is not True, result
        assert result.structured_content["status"] == 200, result.structured_content
        claims = httpx2.Response(200, content=result.structured_content["body"]).json()
        assert claims["sub"] == "alice-at-mock" and claims["email"] == ALICE and "name" not in claims, claims
        assert token_requests(provider) == 2, "the short-lived token was not refreshed"

        # 3. Bob's fetch asks Bob to connect his own account; he never gets Alice's token.
        bobs = fetch(hub, bob_token, userinfo)
        assert isinstance(bobs, MCPError), bobs
        assert "Connect your Mock IdP account" in elicitation_of(bobs)[1]
        # A client that declares no URL elicitation gets the link in a tool error.
        assert hub.base_url + "/connect?request=" in bob.tool_error("http_fetch", {"url": userinfo})

        # 4. The token goes only to the provider's API hosts.
        refusal = alice.tool_error("http_fetch", {"url": "http://127.0.0.2:9/steal"})
        assert "the Mock IdP token is sent only to" in refusal, refusal

        # 5. A tool that needs more of the account asks for it: profile, besides openid and email.
        alice.ok("configure_tool", {"tool_name": "http_fetch", "config": {"account": "mock", "account_scopes": ["email", "profile"]}})
        more = fetch(hub, alice_token, userinfo)
        assert isinstance(more, MCPError), more
        relink, message = elicitation_of(more)
        assert "needs more of your Mock IdP account: profile" in message, message
        with chromium_browser() as browser:
            context = browser.new_context(storage_state=alices_cookies)  # still signed in to Gatehouse: straight on
            keep_to_loopback(context)
            assert "Connected mock" in connect_account(context, relink, "alice-at-mock", name="Alice A.")
        result = fetch(hub, alice_token, userinfo)
        claims = httpx2.Response(200, content=result.structured_content["body"]).json()
        assert claims["name"] == "Alice A.", claims

        # 6. Sealed at rest, never logged; the client secret is not logged either.
        [(sealed,)] = hub.query(ALICES + "sealed_login" + ALICES_ROWS, (ALICE,))
        assert base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4)).startswith(b"GHS1")
        log = hub.log_text()
        assert "access_token" not in log and "Bearer " not in log and CLIENT_SECRET not in log

        # 7. A restart keeps the account.
        hub.halt()
        hub.restart()
        result = fetch(hub, alice_token, userinfo)
        assert not isinstance(result, MCPError) and result.structured_content["status"] == 200, result

        # 8. The provider revokes Alice's tokens. This mock answers a revoked token with 400
        # access_denied, not RFC 6750's 401 (which would make the hub refresh, be refused and ask
        # her to sign in again: AccountFlowTests), so the fetch shows the provider's answer.
        provider.revoke_tokens("alice-at-mock")
        refused = fetch(hub, alice_token, userinfo)
        assert not isinstance(refused, MCPError) and refused.structured_content["status"] == 400, refused

        # 9. The /hub page lists the account and disconnects it.
        with chromium_browser() as browser:
            context = browser.new_context(storage_state=alices_cookies)
            keep_to_loopback(context)
            page = context.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(hub.base_url + "/hub")
            row = page.locator("section[aria-labelledby=accounts-heading] tbody tr")
            assert "Mock IdP" in row.inner_text() and "Connected" in row.inner_text(), row.inner_text()
            page.get_by_role("button", name="Disconnect Mock IdP").click()
            page.wait_for_load_state()
            assert "Disconnected your mock account" in page.content()
            assert "Not connected" in page.locator("section[aria-labelledby=accounts-heading] tbody tr").inner_text()
        assert hub.query(ALICES + "count(*)" + ALICES_ROWS, (ALICE,)) == [(0,)]
        # Her next fetch asks her to connect the account again.
        assert "Connect your Mock IdP account" in elicitation_of(fetch(hub, alice_token, userinfo))[1]


def refused_start(tmp_path: Path, *arguments: str, secret: bool = True) -> str:
    """Runs `gatehouse hub` with `arguments` in `tmp_path`; it must refuse to start. Returns its stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEHOUSE_", "HUB_", "MCP_", "WORKOS_"))}
    if secret:
        env["GATEHOUSE_SECRET_KEY"] = base64.b64encode(os.urandom(32)).decode()
    binary = GatehouseServer("probe", []).binary
    done = subprocess.run([str(binary), "hub", "--port", "0", "--provider", "embedded", *arguments],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert done.returncode != 0, (arguments, done.stdout[-400:])
    return done.stderr


def test_bad_account_settings_stop_start_up_with_what_to_fix(tmp_path: Path) -> None:
    """A provider without endpoints or client id, a bad name, a misspelt setting, or accounts
    without a key to seal their tokens: start-up is refused, naming what to fix."""
    cases = [
        (["--env", "GATEHOUSE_ACCOUNTS=acme", "--env", "GATEHOUSE_ACCOUNT_ACME_CLIENT_ID=x"], "GATEHOUSE_ACCOUNT_ACME_ISSUER"),
        (["--env", "GATEHOUSE_ACCOUNTS=github"], "GATEHOUSE_ACCOUNT_GITHUB_CLIENT_ID"),
        (["--env", "GATEHOUSE_ACCOUNTS=Bad_Name"], "GATEHOUSE_ACCOUNTS"),
        (["--env", "GATEHOUSE_ACCOUNTS=github", "--env", "GATEHOUSE_ACCOUNT_GITHUB_CLIENT_ID=x",
          "--env", "GATEHOUSE_ACCOUNT_GTIHUB_SCOPES=repo"], "GATEHOUSE_ACCOUNT_GTIHUB_SCOPES"),
    ]
    for arguments, named in cases:
        stderr = refused_start(tmp_path, *arguments)
        assert named in stderr, (arguments, stderr[-600:])
    stderr = refused_start(tmp_path, "--env", "GATEHOUSE_ACCOUNTS=github", "--env", "GATEHOUSE_ACCOUNT_GITHUB_CLIENT_ID=x", secret=False)
    assert "GATEHOUSE_ACCOUNTS need GATEHOUSE_SECRET_KEY" in stderr, stderr[-600:]


def connect_with_raw_http(browser: httpx2.Client, link: str, email: str, password: str) -> httpx2.Response:
    """What a browser does with a connect link, in raw HTTP (cookies kept in `browser`, redirects
    followed): the connect page's password form when it asks, then on to the provider, whose
    approval comes back to the hub's callback. Returns the last answer."""
    page = browser.get(link)
    if 'name="password"' in page.text:
        hidden = dict(re.findall(r'name="(request|csrf_token)" value="([^"]*)"', page.text))
        signed_in = browser.post(str(page.url).split("?", 1)[0], data={**hidden, "email": email, "password": password})
        assert signed_in.status_code == 200 and "Continue to" in signed_in.text, signed_in.text[:500]
        page = browser.get(link)
    return page


def test_a_github_shaped_provider_with_its_quirks(tmp_path: Path) -> None:
    """The github preset against a provider shaped like GitHub's OAuth apps (peers/github_like.py):
    fixed endpoints and no issuer, the secret in the form body, JSON only on request, comma-separated
    scopes, no expiry or refresh token; its API's 403 insufficient_scope challenge asks the user for
    the scope it names, and the grant that follows carries it."""
    with GitHubLike() as github:
        server = start_extra_server(
            "accounts-github", [
                "--provider", "embedded", "--env", "GATEHOUSE_ACCOUNTS=github",
                "--env", f"GATEHOUSE_ACCOUNT_GITHUB_CLIENT_ID={GITHUB_CLIENT_ID}",
                "--env", f"GATEHOUSE_ACCOUNT_GITHUB_AUTHORIZE_URL={github.base_url}/login/oauth/authorize",
                "--env", f"GATEHOUSE_ACCOUNT_GITHUB_TOKEN_URL={github.base_url}/login/oauth/access_token",
                "--env", f"GATEHOUSE_ACCOUNT_GITHUB_API_HOSTS=127.0.0.1:{github.port}", "--env", "GATEHOUSE_FETCH_ALLOW_PRIVATE=true",
            ],
            env={"GATEHOUSE_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(), "GATEHOUSE_ACCOUNT_GITHUB_CLIENT_SECRET": GITHUB_CLIENT_SECRET})
        try:
            server.add_user(ALICE, "Alice", ALICE_PASSWORD)
            token = sign_in(server, ALICE, ALICE_PASSWORD)
            with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http, httpx2.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=True) as browser:
                alice = RawUser(server, token, http, "alice")
                alice.ok("add_tool", {"tool_name": "http_fetch", "config": {"account": "github"}})
                # connect_account asks; the tool error of a raw client carries the link.
                link = re.search(r"http://\S+/connect\?request=[A-Za-z0-9_-]+", alice.tool_error("connect_account", {"account": "github"}))
                assert link, "no connect link"
                done = connect_with_raw_http(browser, link.group(0), ALICE, ALICE_PASSWORD)
                assert done.status_code == 200 and "Connected github" in done.text, done.text[:500]
                [authorize] = github.requests_to("/login/oauth/authorize")
                assert authorize.query["scope"] == "read:user" and authorize.query["code_challenge_method"] == "S256", authorize.query
                assert "resource" not in authorize.query and "iss" not in authorize.query, authorize.query
                [exchange] = github.requests_to("/login/oauth/access_token")
                assert exchange.form["client_secret"] == GITHUB_CLIENT_SECRET and "authorization" not in exchange.headers
                assert "resource" not in exchange.form, exchange.form

                user = alice.ok("http_fetch", {"url": f"{github.base_url}/user"})
                assert user["structuredContent"]["status"] == 200 and "octocat" in user["structuredContent"]["body"], user

                # The API wants repo: its challenge asks the user for it, with what they have.
                more = alice.tool_error("http_fetch", {"url": f"{github.base_url}/user/repos"})
                assert "needs more of your GitHub account: repo" in more, more
                relink = re.search(r"http://\S+/connect\?request=[A-Za-z0-9_-]+", more)
                assert relink and "Connected github" in connect_with_raw_http(browser, relink.group(0), ALICE, ALICE_PASSWORD).text
                assert github.requests_to("/login/oauth/authorize")[-1].query["scope"] == "read:user repo"
                repos = alice.ok("http_fetch", {"url": f"{github.base_url}/user/repos"})
                assert repos["structuredContent"]["status"] == 200 and "octocat/hello-world" in repos["structuredContent"]["body"], repos
                # GitHub's "read:user,repo" was read as two scopes: a tool needing repo is not asked again.
                alice.ok("configure_tool", {"tool_name": "http_fetch", "config": {"account": "github", "account_scopes": ["repo"]}})
                assert alice.ok("http_fetch", {"url": f"{github.base_url}/user"})["structuredContent"]["status"] == 200
                listed = alice.ok("list_my_connections")["structuredContent"]["connections"]
                assert listed == [{"name": "github", "kind": "account", "url": "", "status": "connected"}], listed
                # A server may not take the provider's name (servers are not offered here at all).
                assert "connect_mcp_server" not in alice.tool_names()
                assert "Disconnected your GitHub account" in alice.ok("disconnect_account", {"account": "github"})["content"][0]["text"]
        finally:
            server.stop()
