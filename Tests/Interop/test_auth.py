"""OAuth interop: Gatehouse as an MCP resource server in front of a real (local) authorization server.

The hubs here verify JWT access tokens from `test_issuer.LocalIssuer` (MCP_JWT_ISSUER):

  gatehouse_jwt     tokens from `issuer`, no required scopes
  gatehouse_scoped  tokens from `scoped_issuer`, MCP_REQUIRED_SCOPES=mcp:read

Part 1 drives the official Python SDK's OAuth client (mcp.client.auth.OAuthClientProvider)
through discovery, dynamic registration, an auto-approved authorization-code + PKCE login and
the tool calls. Part 2 sends tokens directly with httpx2 and checks every status and challenge.
"""

from __future__ import annotations

import re
import time
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from conftest import GatehouseServer
from mcp_wire import ACCEPT_BOTH, HUB_TOOLS, LATEST_HANDSHAKE, MODERN, TEST_TIMEOUT_S, envelope, modern_headers, run
from test_issuer import OIDC_ONLY_FIELDS, LocalIssuer, decode_unverified

HTTP_TIMEOUT_S = 5.0
# Never contacted: the headless "browser" below reads the code off the AS's redirect.
REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"

# mode passed to mcp.Client -> protocol version the SDK must end up with.
SDK_MODES = {"auto": MODERN, MODERN: MODERN, "legacy": LATEST_HANDSHAKE}
sdk_mode_param = pytest.mark.parametrize("mode", list(SDK_MODES))


# ======================================================================================
# Part 1: the official Python SDK's OAuth client
# ======================================================================================


class MemoryStorage:
    """mcp.client.auth.TokenStorage kept in memory."""

    def __init__(self, tokens: OAuthToken | None = None, client_info: OAuthClientInformationFull | None = None):
        self.tokens = tokens
        self.client_info = client_info

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class HeadlessBrowser:
    """Plays the user's browser against an auto-approving authorization server: GETs the
    authorization URL without following redirects and reads code, state and iss from the
    Location header, then hands them to the SDK's callback handler."""

    def __init__(self) -> None:
        self.authorization_urls: list[str] = []
        self._pending: AuthorizationCodeResult | None = None

    async def redirect_handler(self, authorization_url: str) -> None:
        self.authorization_urls.append(authorization_url)
        async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as http:
            response = await http.get(authorization_url)
        location = response.headers.get("location", "")
        if response.status_code not in (302, 303) or not location.startswith(REDIRECT_URI + "?"):
            raise RuntimeError(
                f"authorization endpoint did not redirect to the client: HTTP {response.status_code}, "
                f"Location {location!r}, body {response.text[:300]!r}"
            )
        params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        if "error" in params or "code" not in params:
            raise RuntimeError(f"authorization failed: {params}")
        self._pending = AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))

    async def callback_handler(self) -> AuthorizationCodeResult:
        if self._pending is None:
            raise RuntimeError("callback_handler called before redirect_handler produced a code")
        result, self._pending = self._pending, None
        return result


class Exchanges:
    """Every HTTP response the SDK's client saw (MCP requests and the OAuth flow's requests)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int, dict[str, str]]] = []

    async def __call__(self, response: httpx2.Response) -> None:
        request = response.request
        self.seen.append(
            (
                request.method,
                str(request.url),
                response.status_code,
                {k.lower(): v for k, v in request.headers.items()},
            )
        )

    def to(self, url: str) -> list[tuple[str, str, int, dict[str, str]]]:
        return [e for e in self.seen if e[1] == url]

    def describe(self) -> str:
        return "\n".join(f"{m} {u} -> {s}" for m, u, s, _ in self.seen)




def make_provider(server_url: str, storage: MemoryStorage, browser: HeadlessBrowser) -> OAuthClientProvider:
    return OAuthClientProvider(
        server_url=server_url,
        client_metadata=OAuthClientMetadata(
            client_name="gatehouse-interop",
            redirect_uris=[AnyUrl(REDIRECT_URI)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=browser.redirect_handler,
        callback_handler=browser.callback_handler,
    )


def with_oauth_client(
    server_url: str,
    mode: str,
    provider: OAuthClientProvider,
    exchanges: Exchanges,
    body: Callable[[Client], Awaitable[Any]],
    timeout: float = TEST_TIMEOUT_S,
) -> Any:
    """Runs `body` with an mcp.Client whose HTTP client authenticates with `provider`, within
    `timeout` seconds; a failure shows every HTTP exchange (`exchanges` records them)."""
    async def go() -> Any:
        http_client = httpx2.AsyncClient(
            auth=provider, timeout=httpx2.Timeout(10.0), event_hooks={"response": [exchanges]}
        )
        async with http_client:
            transport = streamable_http_client(server_url, http_client=http_client)
            async with Client(transport, mode=mode) as client:
                assert client.session.protocol_version == SDK_MODES[mode]
                return await body(client)

    try:
        return run(go, timeout)
    except Exception as error:
        raise AssertionError(
            f"SDK OAuth session failed: {error!r}\n--- HTTP exchanges ---\n{exchanges.describe()}"
        ) from error


def authorize_params(browser: HeadlessBrowser) -> dict[str, str]:
    assert browser.authorization_urls, "the SDK never asked the user to authorize"
    return {k: v[0] for k, v in parse_qs(urlsplit(browser.authorization_urls[-1]).query).items()}


@sdk_mode_param
def test_sdk_oauth_login_then_tools(gatehouse_jwt: GatehouseServer, issuer: LocalIssuer, mode: str) -> None:
    """Discovery from the 401, RFC 9728 + RFC 8414 metadata, DCR, PKCE login, then tools."""
    mcp_url = gatehouse_jwt.mcp_url
    storage, browser, exchanges = MemoryStorage(), HeadlessBrowser(), Exchanges()
    provider = make_provider(mcp_url, storage, browser)
    tokens_before = len(issuer.requests_to("/token"))

    async def body(client: Client) -> dict[str, Any]:
        names = sorted(tool.name for tool in (await client.list_tools()).tools)
        assert names == HUB_TOOLS
        added = await client.call_tool("add", {"a": 2, "b": 3})
        assert added.is_error is not True
        assert added.structured_content == {"result": 5}
        whoami = await client.call_tool("whoami", {})
        assert whoami.is_error is not True, whoami
        return whoami.structured_content

    whoami = with_oauth_client(mcp_url, mode, provider, exchanges, body)

    # The login ran once, against this issuer, for this resource, with PKCE S256.
    assert len(browser.authorization_urls) == 1, browser.authorization_urls
    params = authorize_params(browser)
    assert browser.authorization_urls[0].startswith(issuer.issuer + "/authorize?")
    assert params["resource"] == mcp_url
    assert params["code_challenge_method"] == "S256" and params["code_challenge"]
    assert len(issuer.requests_to("/token")) == tokens_before + 1

    # The flow started from the hub's 401 and read its metadata.
    first_mcp = exchanges.to(mcp_url)[0]
    assert first_mcp[2] == 401 and "authorization" not in first_mcp[3], exchanges.describe()
    prm_url = gatehouse_jwt.base_url + "/.well-known/oauth-protected-resource/mcp"
    assert [e[2] for e in exchanges.to(prm_url)] == [200], exchanges.describe()
    # Every later MCP request carried the token and none was refused (the legacy client's
    # optional GET stream gets 405: the hub offers no server-initiated stream).
    for method, _, status, headers in exchanges.to(mcp_url)[1:]:
        assert headers.get("authorization", "").startswith("Bearer "), (method, headers)
        assert status in (200, 202, 204) or (method, status) == ("GET", 405), exchanges.describe()

    assert storage.tokens is not None and storage.client_info is not None
    claims = decode_unverified(storage.tokens.access_token)
    assert claims["aud"] == mcp_url and claims["iss"] == issuer.issuer

    assert whoami == {
        "subject": issuer.login_subject,
        "issuer": issuer.issuer,
        "email": issuer.login_email,
        "client_id": storage.client_info.client_id,
        "scopes": ["mcp:read", "mcp:write"],
        "authenticated": True,
    }


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_sdk_oauth_login_asks_for_the_challenged_scope(
    gatehouse_scoped: GatehouseServer, scoped_issuer: LocalIssuer, mode: str
) -> None:
    """With MCP_REQUIRED_SCOPES=mcp:read the 401 names that scope and the SDK requests it."""
    mcp_url = gatehouse_scoped.mcp_url
    storage, browser, exchanges = MemoryStorage(), HeadlessBrowser(), Exchanges()
    provider = make_provider(mcp_url, storage, browser)

    async def body(client: Client) -> Any:
        added = await client.call_tool("add", {"a": 2, "b": 3})
        assert added.structured_content == {"result": 5}
        return (await client.call_tool("whoami", {})).structured_content

    whoami = with_oauth_client(mcp_url, mode, provider, exchanges, body)
    params = authorize_params(browser)
    assert params["scope"] == "mcp:read" and params["resource"] == mcp_url
    assert whoami["subject"] == scoped_issuer.login_subject
    assert whoami["issuer"] == scoped_issuer.issuer
    assert whoami["scopes"] == ["mcp:read"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_sdk_steps_up_on_insufficient_scope(
    gatehouse_scoped: GatehouseServer, scoped_issuer: LocalIssuer, mode: str
) -> None:
    """A stored token without mcp:read gets 403 insufficient_scope; the SDK re-authorizes
    for the union of its scopes and the challenged ones, and the retry succeeds."""
    mcp_url = gatehouse_scoped.mcp_url
    weak = scoped_issuer.mint(scoped_issuer.login_subject, mcp_url, scope="mcp:write")
    storage = MemoryStorage(tokens=OAuthToken(access_token=weak, expires_in=600, scope="mcp:write"))
    browser, exchanges = HeadlessBrowser(), Exchanges()
    provider = make_provider(mcp_url, storage, browser)

    async def body(client: Client) -> Any:
        return (await client.call_tool("whoami", {})).structured_content

    whoami = with_oauth_client(mcp_url, mode, provider, exchanges, body)
    first = exchanges.to(mcp_url)[0]
    assert first[2] == 403 and first[3]["authorization"] == "Bearer " + weak, exchanges.describe()
    assert len(browser.authorization_urls) == 1
    assert set(authorize_params(browser)["scope"].split()) == {"mcp:read", "mcp:write"}
    assert whoami["scopes"] == ["mcp:read", "mcp:write"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_sdk_refreshes_an_expired_token(gatehouse_jwt: GatehouseServer, issuer: LocalIssuer, mode: str) -> None:
    """After a login, the SDK's token is marked expired; its next request refreshes it
    (refresh_token grant with the RFC 8707 resource) and the hub accepts the new token."""
    mcp_url = gatehouse_jwt.mcp_url
    storage, browser, exchanges = MemoryStorage(), HeadlessBrowser(), Exchanges()
    provider = make_provider(mcp_url, storage, browser)

    async def body(client: Client) -> tuple[str, str, Any]:
        await client.call_tool("add", {"a": 1, "b": 1})
        first = storage.tokens.access_token
        # The SDK's own expiry clock (set from expires_in) now says the token is stale.
        provider.context.token_expiry_time = time.time() - 1
        whoami = (await client.call_tool("whoami", {})).structured_content
        return first, storage.tokens.access_token, whoami

    refreshes_before = [r for r in issuer.requests_to("/token") if r.form.get("grant_type") == "refresh_token"]
    first, second, whoami = with_oauth_client(mcp_url, mode, provider, exchanges, body)
    refreshes = [r for r in issuer.requests_to("/token") if r.form.get("grant_type") == "refresh_token"]
    assert len(refreshes) == len(refreshes_before) + 1, issuer.log_text()
    assert refreshes[-1].status == 200 and refreshes[-1].form.get("resource") == mcp_url
    assert second != first and decode_unverified(second)["aud"] == mcp_url
    assert len(browser.authorization_urls) == 1  # no second login
    assert whoami["subject"] == issuer.login_subject and whoami["authenticated"] is True


# ======================================================================================
# Part 2: tokens sent directly
# ======================================================================================

CHALLENGE_PARAM = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


def bearer_challenge(response: httpx2.Response) -> dict[str, str]:
    """The parameters of the (single) Bearer challenge in WWW-Authenticate."""
    values = response.headers.get_list("www-authenticate")
    assert len(values) == 1, f"expected one WWW-Authenticate header, got {values!r}"
    value = values[0]
    assert value.startswith("Bearer "), value
    return {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in CHALLENGE_PARAM.finditer(value[7:])
    }


def initialize_body(version: str = LATEST_HANDSHAKE, request_id: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "gatehouse-interop", "version": "1"},
        },
    }


def auth(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def post_initialize(http: httpx2.Client, url: str, token: str | None, **headers: str) -> httpx2.Response:
    return http.post(url, json=initialize_body(), headers={"Accept": ACCEPT_BOTH, **auth(token), **headers})


def post_modern(
    http: httpx2.Client, url: str, token: str | None, method: str, params: dict[str, Any], name: str | None = None
) -> httpx2.Response:
    headers = {**modern_headers(method, name), **auth(token)}
    return http.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": envelope()}}, headers=headers
    )


def metadata_url(server: GatehouseServer) -> str:
    return server.base_url + "/.well-known/oauth-protected-resource/mcp"


def expect_challenge(
    response: httpx2.Response, server: GatehouseServer, status: int, error: str | None, scope: str | None = None
) -> dict[str, str]:
    assert response.status_code == status, (
        f"expected HTTP {status}, got {response.status_code}: {response.text[:500]!r}"
    )
    challenge = bearer_challenge(response)
    assert challenge.get("resource_metadata") == metadata_url(server), challenge
    assert challenge.get("error") == error, challenge
    if scope is not None:
        assert challenge.get("scope") == scope, challenge
    assert response.headers.get("content-type", "").startswith("application/json")
    body = response.json()
    assert body.get("error") == (error or "unauthorized"), body
    return challenge


def expect_ok(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code == 200, f"HTTP {response.status_code}: {response.text[:500]!r}"
    body = response.json()
    assert "error" not in body, body
    return body["result"]


# ------------------------------------------------------------------ valid tokens


def test_valid_token_initializes_a_session(
    http: httpx2.Client, gatehouse_jwt: GatehouseServer, issuer: LocalIssuer
) -> None:
    token = issuer.mint("user-direct", gatehouse_jwt.mcp_url)
    response = post_initialize(http, gatehouse_jwt.mcp_url, token)
    result = expect_ok(response)
    assert result["protocolVersion"] == LATEST_HANDSHAKE
    assert response.headers.get("mcp-session-id")


def test_valid_token_modern_whoami(http: httpx2.Client, gatehouse_jwt: GatehouseServer, issuer: LocalIssuer) -> None:
    token = issuer.mint(
        "user-direct", gatehouse_jwt.mcp_url, scope="mcp:read", email="direct@example.test", client_id="cli-1"
    )
    response = post_modern(
        http, gatehouse_jwt.mcp_url, token, "tools/call", {"name": "whoami", "arguments": {}}, name="whoami"
    )
    result = expect_ok(response)
    assert result.get("isError") is not True, result
    assert result["structuredContent"] == {
        "subject": "user-direct",
        "issuer": issuer.issuer,
        "email": "direct@example.test",
        "client_id": "cli-1",
        "scopes": ["mcp:read"],
        "authenticated": True,
    }


def test_scopes_from_scp_claim(http: httpx2.Client, gatehouse_jwt: GatehouseServer, issuer: LocalIssuer) -> None:
    token = issuer.mint("user-scp", gatehouse_jwt.mcp_url, scope=None, scp=["mcp:write", "mcp:read"])
    response = post_modern(
        http, gatehouse_jwt.mcp_url, token, "tools/call", {"name": "whoami", "arguments": {}}, name="whoami"
    )
    assert expect_ok(response)["structuredContent"]["scopes"] == ["mcp:read", "mcp:write"]


def test_audience_list_containing_the_resource_is_accepted(
    http: httpx2.Client, gatehouse_jwt: GatehouseServer, issuer: LocalIssuer
) -> None:
    token = issuer.mint("user-direct", ["https://other.example/api", gatehouse_jwt.mcp_url])
    expect_ok(post_initialize(http, gatehouse_jwt.mcp_url, token))


def test_expiry_within_leeway_is_accepted(
    http: httpx2.Client, gatehouse_jwt: GatehouseServer, issuer: LocalIssuer
) -> None:
    """Expired 5 s ago: inside the default 30 s clock-skew leeway."""
    token = issuer.mint("user-direct", gatehouse_jwt.mcp_url, exp_in=-5)
    expect_ok(post_initialize(http, gatehouse_jwt.mcp_url, token))


# ------------------------------------------------------------------ refused tokens


# Each builder gets (issuer, another issuer, the hub's MCP URL) and returns a token the hub must refuse.
BAD_TOKENS: dict[str, Callable[[LocalIssuer, LocalIssuer, str], str]] = {
    "expired": lambda iss, other, aud: iss.mint("user-alice", aud, exp_in=-300),  # beyond the 30 s leeway
    "wrong-audience": lambda iss, other, aud: iss.mint("user-alice", "https://other.example/mcp"),
    "issuer-as-audience": lambda iss, other, aud: iss.mint("user-alice", iss.issuer),
    "origin-as-audience": lambda iss, other, aud: iss.mint("user-alice", aud.rsplit("/mcp", 1)[0]),
    "no-audience": lambda iss, other, aud: iss.mint("user-alice", None),
    "wrong-issuer": lambda iss, other, aud: iss.mint("user-alice", aud, iss="https://evil.example"),
    "another-real-issuer": lambda iss, other, aud: other.mint("user-alice", aud),
    "no-exp": lambda iss, other, aud: iss.mint("user-alice", aud, exp_in=None),
    "no-sub": lambda iss, other, aud: iss.mint(None, aud),
    "empty-sub": lambda iss, other, aud: iss.mint("", aud),
    "not-yet-valid": lambda iss, other, aud: iss.mint("user-alice", aud, nbf=int(time.time()) + 3600),
    "alg-none": lambda iss, other, aud: iss.forge(iss.claims("user-alice", aud), "none"),
    "alg-none-with-signature": lambda iss, other, aud: iss.forge(iss.claims("user-alice", aud), "none-with-signature"),
    "hs256-keyed-with-public-key": lambda iss, other, aud: iss.forge(iss.claims("user-alice", aud), "hs256-public-key"),
    "unknown-key": lambda iss, other, aud: iss.forge(iss.claims("user-alice", aud), "other-key"),
    "other-key-same-kid": lambda iss, other, aud: iss.forge(iss.claims("user-alice", aud), "other-key-same-kid"),
    "tampered-payload": lambda iss, other, aud: iss.forge(iss.claims("user-alice", aud), "tampered"),
    "not-a-jwt": lambda iss, other, aud: "opaque-token-value",
    "garbage-segments": lambda iss, other, aud: "aaaa.bbbb.cccc",
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_refused_token_is_401_invalid_token(
    http: httpx2.Client, gatehouse_jwt: GatehouseServer, issuer: LocalIssuer, scoped_issuer: LocalIssuer, case: str
) -> None:
    token = BAD_TOKENS[case](issuer, scoped_issuer, gatehouse_jwt.mcp_url)
    response = post_initialize(http, gatehouse_jwt.mcp_url, token)
    expect_challenge(response, gatehouse_jwt, 401, "invalid_token")
    assert "mcp-session-id" not in response.headers


def test_refused_token_on_modern_request(
    http: httpx2.Client, gatehouse_jwt: GatehouseServer, issuer: LocalIssuer
) -> None:
    token = issuer.mint("user-alice", "https://other.example/mcp")
    response = post_modern(http, gatehouse_jwt.mcp_url, token, "tools/list", {})
    expect_challenge(response, gatehouse_jwt, 401, "invalid_token")


def test_token_in_query_string_is_400(http: httpx2.Client, gatehouse_jwt: GatehouseServer, issuer: LocalIssuer) -> None:
    token = issuer.mint("user-alice", gatehouse_jwt.mcp_url)
    response = http.post(
        gatehouse_jwt.mcp_url, params={"access_token": token}, json=initialize_body(), headers={"Accept": ACCEPT_BOTH}
    )
    assert not 200 <= response.status_code < 300, response.text
    expect_challenge(response, gatehouse_jwt, 400, "invalid_request")
    # Also refused when a valid header is sent alongside.
    both = http.post(
        gatehouse_jwt.mcp_url,
        params={"access_token": token},
        json=initialize_body(),
        headers={"Accept": ACCEPT_BOTH, **auth(token)},
    )
    expect_challenge(both, gatehouse_jwt, 400, "invalid_request")


# ------------------------------------------------------------------ discovery


@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
def test_no_token_is_401_with_resource_metadata(
    http: httpx2.Client, gatehouse_jwt: GatehouseServer, method: str
) -> None:
    if method == "POST":
        response = post_initialize(http, gatehouse_jwt.mcp_url, None)
    else:
        response = http.request(method, gatehouse_jwt.mcp_url, headers={"Accept": ACCEPT_BOTH})
    challenge = expect_challenge(response, gatehouse_jwt, 401, None)
    # No scope is needed anywhere on this hub, so the challenge names none.
    assert "scope" not in challenge, challenge
    assert response.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata_url(gatehouse_jwt)}"'


def test_no_token_on_scoped_hub_names_the_scope(http: httpx2.Client, gatehouse_scoped: GatehouseServer) -> None:
    response = post_initialize(http, gatehouse_scoped.mcp_url, None)
    expect_challenge(response, gatehouse_scoped, 401, None, scope="mcp:read")
    assert response.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{metadata_url(gatehouse_scoped)}", scope="mcp:read"'
    )


def test_healthz_needs_no_token(http: httpx2.Client, gatehouse_jwt: GatehouseServer) -> None:
    response = http.get(gatehouse_jwt.base_url + "/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.parametrize("hub", ["jwt", "scoped"])
def test_protected_resource_metadata(http: httpx2.Client, request: pytest.FixtureRequest, hub: str) -> None:
    server: GatehouseServer = request.getfixturevalue("gatehouse_jwt" if hub == "jwt" else "gatehouse_scoped")
    the_issuer: LocalIssuer = request.getfixturevalue("issuer" if hub == "jwt" else "scoped_issuer")
    expected = {
        "resource": server.mcp_url,
        "authorization_servers": [the_issuer.issuer],
        "scopes_supported": [] if hub == "jwt" else ["mcp:read"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Gatehouse",
    }
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        response = http.get(server.base_url + path, headers={"Accept": "application/json"})
        assert response.status_code == 200, (path, response.status_code, response.text)
        assert response.headers.get("content-type", "").startswith("application/json"), path
        assert response.json() == expected, path
    # The challenge's resource_metadata URL is the path-aware one, which needs no token.
    challenge = bearer_challenge(post_initialize(http, server.mcp_url, None))
    assert http.get(challenge["resource_metadata"]).json() == expected


@pytest.mark.parametrize("hub", ["jwt", "scoped"])
def test_mirrored_authorization_server_metadata(http: httpx2.Client, request: pytest.FixtureRequest, hub: str) -> None:
    server: GatehouseServer = request.getfixturevalue("gatehouse_jwt" if hub == "jwt" else "gatehouse_scoped")
    the_issuer: LocalIssuer = request.getfixturevalue("issuer" if hub == "jwt" else "scoped_issuer")
    upstream_oauth = http.get(the_issuer.issuer + "/.well-known/oauth-authorization-server").json()
    upstream_oidc = http.get(the_issuer.issuer + "/.well-known/openid-configuration").json()
    if hub == "scoped":  # this issuer puts OpenID-only fields into its RFC 8414 document
        assert set(OIDC_ONLY_FIELDS) <= set(upstream_oauth)

    oauth = http.get(server.base_url + "/.well-known/oauth-authorization-server")
    assert oauth.status_code == 200, oauth.text
    assert oauth.headers.get("content-type", "").startswith("application/json")
    mirrored = oauth.json()
    assert mirrored == {k: v for k, v in upstream_oauth.items() if k not in OIDC_ONLY_FIELDS}
    assert mirrored["issuer"] == the_issuer.issuer

    oidc = http.get(server.base_url + "/.well-known/openid-configuration")
    assert oidc.status_code == 200, oidc.text
    assert oidc.json() == upstream_oidc


# ------------------------------------------------------------------ scopes


def test_required_scope_missing_is_403(
    http: httpx2.Client, gatehouse_scoped: GatehouseServer, scoped_issuer: LocalIssuer
) -> None:
    token = scoped_issuer.mint("user-alice", gatehouse_scoped.mcp_url, scope="mcp:write")
    response = post_initialize(http, gatehouse_scoped.mcp_url, token)
    challenge = expect_challenge(response, gatehouse_scoped, 403, "insufficient_scope")
    assert "mcp:read" in challenge.get("scope", "").split(), challenge
    assert "mcp-session-id" not in response.headers


def test_required_scope_missing_on_modern_request(
    http: httpx2.Client, gatehouse_scoped: GatehouseServer, scoped_issuer: LocalIssuer
) -> None:
    token = scoped_issuer.mint("user-alice", gatehouse_scoped.mcp_url, scope=None)
    response = post_modern(
        http, gatehouse_scoped.mcp_url, token, "tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}}, name="add"
    )
    challenge = expect_challenge(response, gatehouse_scoped, 403, "insufficient_scope")
    assert challenge.get("scope") == "mcp:read", challenge


def test_required_scope_present_is_accepted(
    http: httpx2.Client, gatehouse_scoped: GatehouseServer, scoped_issuer: LocalIssuer
) -> None:
    token = scoped_issuer.mint("user-alice", gatehouse_scoped.mcp_url, scope="mcp:read")
    expect_ok(post_initialize(http, gatehouse_scoped.mcp_url, token))
    # A token for the other hub is not good here, even with the right scope.
    other = scoped_issuer.mint("user-alice", "https://other.example/mcp", scope="mcp:read")
    expect_challenge(post_initialize(http, gatehouse_scoped.mcp_url, other), gatehouse_scoped, 401, "invalid_token")


# ------------------------------------------------------------------ sessions and origins


def _session_headers(session_id: str, token: str | None) -> dict[str, str]:
    return {
        "Accept": ACCEPT_BOTH,
        "Content-Type": "application/json",
        "Mcp-Session-Id": session_id,
        "MCP-Protocol-Version": LATEST_HANDSHAKE,
        **auth(token),
    }


def test_session_is_bound_to_the_token_subject(
    http: httpx2.Client, gatehouse_jwt: GatehouseServer, issuer: LocalIssuer
) -> None:
    url = gatehouse_jwt.mcp_url
    alice = issuer.mint("user-alice", url)
    response = post_initialize(http, url, alice)
    expect_ok(response)
    session_id = response.headers["mcp-session-id"]
    initialized = http.post(
        url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=_session_headers(session_id, alice)
    )
    assert initialized.status_code == 202, initialized.text
    tools_list = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    try:
        # Another user's valid token on alice's session: as if the session did not exist.
        bob = issuer.mint("user-bob", url)
        hijack = http.post(url, json=tools_list, headers=_session_headers(session_id, bob))
        assert hijack.status_code == 404, f"expected 404, got {hijack.status_code}: {hijack.text[:300]!r}"
        # The session id alone authenticates nothing.
        bare = http.post(url, json=tools_list, headers=_session_headers(session_id, None))
        expect_challenge(bare, gatehouse_jwt, 401, None)
        # A fresh token for the same subject keeps working (tokens are refreshed mid-session).
        alice_again = issuer.mint("user-alice", url, scope="mcp:read")
        ok = http.post(url, json=tools_list, headers=_session_headers(session_id, alice_again))
        assert ok.status_code == 200, ok.text
        assert sorted(t["name"] for t in ok.json()["result"]["tools"]) == HUB_TOOLS
        # Bob cannot end alice's session either.
        delete = http.delete(url, headers=_session_headers(session_id, bob))
        assert delete.status_code == 404, delete.text
        still = http.post(url, json=tools_list, headers=_session_headers(session_id, alice))
        assert still.status_code == 200, still.text
    finally:
        http.delete(url, headers=_session_headers(session_id, alice))


def test_hostile_origin_is_403_even_with_a_valid_token(
    http: httpx2.Client, gatehouse_jwt: GatehouseServer, issuer: LocalIssuer
) -> None:
    token = issuer.mint("user-alice", gatehouse_jwt.mcp_url)
    response = post_initialize(http, gatehouse_jwt.mcp_url, token, Origin="https://attacker.example")
    assert response.status_code == 403, response.text
    assert "mcp-session-id" not in response.headers
    local = post_initialize(http, gatehouse_jwt.mcp_url, token, Origin="http://localhost:5173")
    expect_ok(local)
