"""The official Python MCP SDK (mcp==2.3.0) logs in to Gatehouse's embedded authorization server.

The hub (conftest.embedded_short_hub) runs the embedded authorization server with
--dev-auto-approve, 10 s access tokens and no clock-skew leeway. The SDK's OAuthClientProvider
does everything a real client does: it reads the 401 challenge, fetches the protected-resource
metadata (RFC 9728) and the authorization-server metadata (RFC 8414), registers itself
(RFC 7591), sends the user to /authorize with PKCE S256 and the RFC 8707 resource, redeems the
code, and refreshes the access token when it expires. The "browser" is httpx2: it GETs the
authorization URL, reads code, state and iss off the 303's Location and hands them to the
SDK's callback handler.

Each scenario runs in both of the SDK's modes: "auto" (negotiates the stateless 2026-07-28
protocol) and "legacy" (an initialize handshake and a session).

In cluster mode (GATEHOUSE_INTEROP_DEPLOYMENT=cluster, conftest.py) each hub is three instances on
one PostgreSQL database behind nginx round robin (peers/cluster.py): discovery, registration, the
authorization, the code redemption, the refresh and the MCP requests (the legacy session included)
land on different instances. Every test here runs in both modes.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from conftest import DEV_USER, GatehouseServer, start_extra_server
from mcp_wire import HUB_TOOLS, LATEST_HANDSHAKE, MODERN
from test_auth import make_provider as oauth_client_provider
from test_auth import with_oauth_client
from test_issuer import decode_unverified

HTTP_TIMEOUT_S = 5.0
# Upper bound for one SDK conversation, including the wait for a token to expire.
RUN_TIMEOUT_S = 30.0
# Never contacted: the headless browser reads the code off the authorization server's redirect.
REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"
# The hub's access-token lifetime (GATEHOUSE_ACCESS_TOKEN_TTL in conftest.embedded_short_hub).
ACCESS_TOKEN_TTL_S = 10

# mode passed to mcp.Client -> the protocol version the SDK must end up with.
SDK_MODES = {"auto": MODERN, "legacy": LATEST_HANDSHAKE}
sdk_mode_param = pytest.mark.parametrize("mode", list(SDK_MODES))


# ======================================================================================
# Helpers
# ======================================================================================


class FileTokenStorage:
    """mcp.client.auth.TokenStorage persisted in a JSON file, read on every get, as an
    application would keep it across restarts."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, Any]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def _save(self, key: str, value: Any) -> None:
        data = self._load()
        data[key] = value
        self.path.write_text(json.dumps(data))

    async def get_tokens(self) -> OAuthToken | None:
        stored = self._load().get("tokens")
        return OAuthToken.model_validate(stored) if stored else None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self._save("tokens", tokens.model_dump(mode="json", exclude_none=True))

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        stored = self._load().get("client_info")
        return OAuthClientInformationFull.model_validate(stored) if stored else None

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self._save("client_info", client_info.model_dump(mode="json", exclude_none=True))

    def forget_tokens(self) -> None:
        """What a "sign out" does: drop the tokens, keep the client registration."""
        data = self._load()
        data.pop("tokens", None)
        self.path.write_text(json.dumps(data))

    @property
    def access_token(self) -> str:
        return self._load()["tokens"]["access_token"]

    @property
    def refresh_token(self) -> str:
        return self._load()["tokens"]["refresh_token"]

    @property
    def client_id(self) -> str:
        return self._load()["client_info"]["client_id"]


class HeadlessBrowser:
    """Plays the user's browser: GETs the authorization URL without following redirects and
    reads code, state and iss from the Location of the auto-approving server's 303."""

    def __init__(self) -> None:
        self.authorization_urls: list[str] = []
        self.redirects: list[dict[str, str]] = []
        self._pending: AuthorizationCodeResult | None = None

    async def redirect_handler(self, authorization_url: str) -> None:
        self.authorization_urls.append(authorization_url)
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as http:
            response = await http.get(authorization_url)
        location = response.headers.get("location", "")
        if response.status_code != 303 or not location.startswith(REDIRECT_URI + "?"):
            raise RuntimeError(
                f"the authorization endpoint did not redirect to the client: HTTP {response.status_code}, "
                f"Location {location!r}, body {response.text[:300]!r}"
            )
        params = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
        self.redirects.append(params)
        if "error" in params or "code" not in params:
            raise RuntimeError(f"authorization failed: {params}")
        self._pending = AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))

    async def callback_handler(self) -> AuthorizationCodeResult:
        if self._pending is None:
            raise RuntimeError("callback_handler called before redirect_handler produced a code")
        result, self._pending = self._pending, None
        return result

    def last_params(self) -> dict[str, str]:
        assert self.authorization_urls, "the SDK never sent the user to the authorization endpoint"
        return {name: values[0] for name, values in parse_qs(urlsplit(self.authorization_urls[-1]).query).items()}


class SigningInBrowser(HeadlessBrowser):
    """A user at the sign-in page of a hub without auto-approval: GETs the authorization URL,
    fills in email and password on the form (with the cookie the page set), submits it, and
    reads the code off the 303 that follows."""

    def __init__(self, email: str, password: str) -> None:
        super().__init__()
        self.email, self.password = email, password
        self.pages_seen = 0

    async def redirect_handler(self, authorization_url: str) -> None:
        self.authorization_urls.append(authorization_url)
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as browser:
            page = await browser.get(authorization_url)
            assert page.status_code == 200 and "text/html" in page.headers.get("content-type", ""), page.text[:300]
            self.pages_seen += 1
            hidden = dict(re.findall(r'name="(request_id|csrf_token)" value="([^"]*)"', page.text))
            assert set(hidden) == {"request_id", "csrf_token"}, page.text[:500]
            response = await browser.post(
                urljoin(authorization_url, "authorize"),
                data={**hidden, "email": self.email, "password": self.password, "decision": "approve"},
            )
        location = response.headers.get("location", "")
        if response.status_code != 303 or not location.startswith(REDIRECT_URI + "?"):
            raise RuntimeError(f"signing in did not redirect to the client: HTTP {response.status_code} {response.text[:300]!r}")
        params = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
        self.redirects.append(params)
        self._pending = AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))


class Traffic:
    """Every HTTP exchange of the SDK's client (MCP requests and the OAuth flow's requests),
    with the form fields of form-encoded requests."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int, dict[str, str], dict[str, str]]] = []

    async def __call__(self, response: httpx2.Response) -> None:
        request = response.request
        form: dict[str, str] = {}
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = {name: values[0] for name, values in parse_qs(request.content.decode()).items()}
        self.seen.append(
            (request.method, str(request.url), response.status_code, {k.lower(): v for k, v in request.headers.items()}, form)
        )

    def to(self, url: str, method: str | None = None) -> list[tuple[str, str, int, dict[str, str], dict[str, str]]]:
        return [e for e in self.seen if e[1] == url and (method is None or e[0] == method)]

    def token_requests(self, server: GatehouseServer, grant_type: str) -> list[tuple[int, dict[str, str]]]:
        return [(e[2], e[4]) for e in self.to(server.base_url + "/token", "POST") if e[4].get("grant_type") == grant_type]

    def describe(self) -> str:
        return "\n".join(f"{m} {u} -> {s}" for m, u, s, _, _ in self.seen)


def make_provider(server: GatehouseServer, storage: FileTokenStorage, browser: HeadlessBrowser) -> OAuthClientProvider:
    """The SDK's OAuth client for `server`: a public client redirecting to REDIRECT_URI."""
    return oauth_client_provider(server.mcp_url, storage, browser)


def run_sdk(
    server: GatehouseServer,
    mode: str,
    provider: OAuthClientProvider,
    traffic: Traffic,
    body: Callable[[Client], Awaitable[Any]],
) -> Any:
    """Runs `body` with an mcp.Client authenticating with `provider`, bounded by RUN_TIMEOUT_S."""
    return with_oauth_client(server.mcp_url, mode, provider, traffic, body, timeout=RUN_TIMEOUT_S)


async def call_add(client: Client) -> None:
    result = await client.call_tool("add", {"a": 2, "b": 3})
    assert result.is_error is not True, result
    assert result.structured_content == {"result": 5}
    assert result.content[0].text == "5"


async def call_whoami(client: Client) -> dict[str, Any]:
    result = await client.call_tool("whoami", {})
    assert result.is_error is not True, result
    return result.structured_content


def assert_authenticated_mcp_traffic(traffic: Traffic, server: GatehouseServer, after: int = 0) -> None:
    """Every MCP request from index `after` on carried a bearer token and none was refused
    (the legacy client's optional GET stream gets 405: the hub offers none)."""
    for method, _, status, headers, _ in traffic.to(server.mcp_url)[after:]:
        assert headers.get("authorization", "").startswith("Bearer "), (method, headers)
        assert status in (200, 202, 204) or (method, status) == ("GET", 405), traffic.describe()


# ======================================================================================
# Tests
# ======================================================================================


@sdk_mode_param
def test_sdk_discovers_registers_and_logs_in(embedded_short_hub: GatehouseServer, tmp_path: Path, mode: str) -> None:
    """MCP authorization 2025-11-25 end to end: 401 with resource_metadata (RFC 9728 §5.1) ->
    protected-resource metadata -> RFC 8414 metadata of the embedded issuer -> dynamic
    registration (RFC 7591) -> /authorize with PKCE S256, state and the RFC 8707 resource ->
    303 with code, state and iss (RFC 9207, checked by the SDK) -> token -> tools/call."""
    hub = embedded_short_hub
    storage, browser, traffic = FileTokenStorage(tmp_path / "oauth.json"), HeadlessBrowser(), Traffic()
    clients_before = hub.count_rows("oauth_clients")
    families_before = hub.count_rows("oauth_refresh_families")

    async def body(client: Client) -> dict[str, Any]:
        names = sorted(tool.name for tool in (await client.list_tools()).tools)
        assert names == HUB_TOOLS
        await call_add(client)
        return await call_whoami(client)

    whoami = run_sdk(hub, mode, make_provider(hub, storage, browser), traffic, body)

    # Discovery started from the hub's 401 and found the embedded issuer.
    first = traffic.to(hub.mcp_url)[0]
    assert first[2] == 401 and "authorization" not in first[3], traffic.describe()
    prm = traffic.to(hub.base_url + "/.well-known/oauth-protected-resource/mcp", "GET")
    assert [e[2] for e in prm] == [200], traffic.describe()
    asm = traffic.to(hub.base_url + "/.well-known/oauth-authorization-server", "GET")
    assert [e[2] for e in asm] == [200], traffic.describe()

    # One registration, stored by the server and by the client.
    assert [e[2] for e in traffic.to(hub.base_url + "/register", "POST")] == [201], traffic.describe()
    assert hub.count_rows("oauth_clients") == clients_before + 1
    client_id = storage.client_id
    assert client_id.startswith("ghc_")

    # One login: PKCE S256, the resource, the registered client and redirect URI.
    assert len(browser.authorization_urls) == 1, browser.authorization_urls
    assert browser.authorization_urls[0].startswith(hub.base_url + "/authorize?")
    params = browser.last_params()
    assert params["client_id"] == client_id and params["redirect_uri"] == REDIRECT_URI
    assert params["response_type"] == "code" and params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43 and params["state"]
    assert params["resource"] == hub.mcp_url
    assert browser.redirects[0]["iss"] == hub.base_url and browser.redirects[0]["state"] == params["state"]

    # One code redemption with the verifier and the same redirect URI and resource.
    redemptions = traffic.token_requests(hub, "authorization_code")
    assert len(redemptions) == 1, traffic.describe()
    status, form = redemptions[0]
    assert status == 200 and form["client_id"] == client_id and form["redirect_uri"] == REDIRECT_URI
    assert form["resource"] == hub.mcp_url and 43 <= len(form["code_verifier"]) <= 128
    assert hub.count_rows("oauth_refresh_families") == families_before + 1

    assert_authenticated_mcp_traffic(traffic, hub, after=1)
    claims = decode_unverified(storage.access_token)
    assert claims["iss"] == hub.base_url and claims["aud"] == hub.mcp_url and claims["client_id"] == client_id
    assert claims["exp"] - claims["iat"] == ACCESS_TOKEN_TTL_S
    assert whoami == {
        "subject": claims["sub"],
        "issuer": hub.base_url,
        "email": DEV_USER,
        "client_id": client_id,
        "scopes": [],
        "authenticated": True,
    }


@sdk_mode_param
def test_sdk_refreshes_an_expired_access_token(embedded_short_hub: GatehouseServer, tmp_path: Path, mode: str) -> None:
    """OAuth 2.1 §4.3 / MCP authorization "Token Handling": after the 10 s access token has
    expired (the hub, with no leeway, now refuses it), the SDK's next call refreshes with the
    refresh_token grant and the RFC 8707 resource, gets a rotated refresh token, and the call
    succeeds; no second login and no second registration happen. Bounded wait: about 11 s."""
    hub = embedded_short_hub
    storage, browser, traffic = FileTokenStorage(tmp_path / "oauth.json"), HeadlessBrowser(), Traffic()
    provider = make_provider(hub, storage, browser)

    async def body(client: Client) -> tuple[str, str, int, dict[str, Any], int]:
        await call_add(client)
        first_access, first_refresh = storage.access_token, storage.refresh_token
        expiry = provider.context.token_expiry_time
        assert expiry is not None and expiry - time.time() <= ACCESS_TOKEN_TTL_S
        await asyncio.sleep(max(0.0, expiry + 1.0 - time.time()))
        # The hub refuses the first token now, so only a refresh can make the next call work.
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT_S) as http:
            stale = await http.post(
                hub.mcp_url,
                json={"jsonrpc": "2.0", "id": 9, "method": "ping"},
                headers={"Authorization": f"Bearer {first_access}", "Accept": "application/json, text/event-stream"},
            )
        mcp_requests_before = len(traffic.to(hub.mcp_url))
        whoami = await call_whoami(client)
        await call_add(client)
        return first_access, first_refresh, stale.status_code, whoami, mcp_requests_before

    first_access, first_refresh, stale_status, whoami, mcp_before = run_sdk(hub, mode, provider, traffic, body)

    assert stale_status == 401, "the expired token was still accepted, so the test proves nothing"
    refreshes = traffic.token_requests(hub, "refresh_token")
    assert len(refreshes) == 1, traffic.describe()
    status, form = refreshes[0]
    assert status == 200 and form["refresh_token"] == first_refresh, form
    assert form["resource"] == hub.mcp_url and form["client_id"] == storage.client_id, form
    assert storage.access_token != first_access
    assert storage.refresh_token != first_refresh  # rotated (OAuth 2.1 §4.3.1)
    assert decode_unverified(storage.access_token)["exp"] > decode_unverified(first_access)["exp"]
    assert len(browser.authorization_urls) == 1, "the SDK logged in again instead of refreshing"
    assert len(traffic.to(hub.base_url + "/register", "POST")) == 1
    # After the refresh no MCP request was refused.
    assert_authenticated_mcp_traffic(traffic, hub, after=mcp_before)
    assert whoami["email"] == DEV_USER and whoami["authenticated"] is True
    assert whoami["subject"] == decode_unverified(storage.access_token)["sub"]


@sdk_mode_param
def test_sdk_second_run_reuses_the_stored_registration(
    embedded_short_hub: GatehouseServer, tmp_path: Path, mode: str
) -> None:
    """A client restarted with the same persisted TokenStorage: (1) with its stored token it
    calls tools with no OAuth traffic at all; (2) after a sign-out that kept the registration
    it logs in again with the stored client_id (RFC 7591 registrations are persistent), so
    no new row appears in oauth_clients."""
    hub = embedded_short_hub
    path = tmp_path / "oauth.json"

    # First run: register and log in.
    first_browser, first_traffic = HeadlessBrowser(), Traffic()
    run_sdk(hub, mode, make_provider(hub, FileTokenStorage(path), first_browser), first_traffic, call_add)
    assert len(first_traffic.to(hub.base_url + "/register", "POST")) == 1
    stored = FileTokenStorage(path)
    client_id, access_token = stored.client_id, stored.access_token
    clients_after_first_run = hub.count_rows("oauth_clients")

    # Second run, new provider and storage object on the same file: the stored token is used.
    browser, traffic = HeadlessBrowser(), Traffic()
    run_sdk(hub, mode, make_provider(hub, FileTokenStorage(path), browser), traffic, call_add)
    assert browser.authorization_urls == []
    assert [e for e in traffic.seen if not e[1].startswith(hub.mcp_url)] == [], traffic.describe()
    first = traffic.to(hub.mcp_url)[0]
    assert first[3].get("authorization") == f"Bearer {access_token}" and first[2] in (200, 202), traffic.describe()
    assert_authenticated_mcp_traffic(traffic, hub)

    # Third run after a sign-out: a new login, with the stored registration.
    FileTokenStorage(path).forget_tokens()
    browser, traffic = HeadlessBrowser(), Traffic()
    whoami = run_sdk(hub, mode, make_provider(hub, FileTokenStorage(path), browser), traffic, call_whoami)
    assert traffic.to(hub.base_url + "/register", "POST") == [], traffic.describe()
    assert len(browser.authorization_urls) == 1 and browser.last_params()["client_id"] == client_id
    assert [status for status, _ in traffic.token_requests(hub, "authorization_code")] == [200]
    assert hub.count_rows("oauth_clients") == clients_after_first_run
    assert FileTokenStorage(path).client_id == client_id
    assert FileTokenStorage(path).access_token != access_token
    assert whoami["client_id"] == client_id and whoami["email"] == DEV_USER


@sdk_mode_param
def test_sdk_logs_in_to_a_plain_hub_through_the_sign_in_form(tmp_path: Path, mode: str) -> None:
    """The README's first command exactly (`gatehouse hub`, no flags: the embedded authorization
    server with its sign-in page) and a user made with `gatehouse idp add-user`: the SDK
    discovers, registers, sends the user to the page, the user signs in, and tools/call works
    as that user."""
    hub = start_extra_server("plain-hub", [])
    try:
        hub.add_user("carol@example.com", "Carol", "carol's long password")
        storage, traffic = FileTokenStorage(tmp_path / "oauth.json"), Traffic()
        browser = SigningInBrowser("carol@example.com", "carol's long password")

        async def body(client: Client) -> dict[str, Any]:
            await call_add(client)
            return await call_whoami(client)

        whoami = run_sdk(hub, mode, make_provider(hub, storage, browser), traffic, body)
        assert browser.pages_seen == 1
        assert browser.redirects[0]["iss"] == hub.base_url
        assert whoami["email"] == "carol@example.com" and whoami["authenticated"] is True
        assert whoami["client_id"] == storage.client_id
        assert_authenticated_mcp_traffic(traffic, hub, after=1)
    finally:
        hub.stop()
