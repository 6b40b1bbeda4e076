"""Interop of `gatehouse gateway` with upstream MCP servers nobody here wrote, and with the
official Python SDK client (mcp==2.3.0) in front of it.

Upstreams (Tests/Interop/peers/, each a subprocess on a free loopback port):
  gateway_fastmcp_upstream.py  FastMCP 4.1.2: echo, slow_count (progress), ask_name (elicitation),
                               whoami (what its Authorization header says; with --jwks it verifies
                               the gateway's JWT with FastMCP's JWTVerifier), delete_doc, purge_all,
                               resource docs://readme, prompt greet
  gateway_sdk_upstream.py      the official SDK's MCPServer: add, resource file:///notes.txt
  gateway_stdio_upstream.py    the official SDK over stdio: shout, crash (exits), pid

The session gateway (`gateway` fixture) runs with the static provider (tok-alice: docs:read
docs:admin; tok-bob: docs:read) and a --config file of five upstreams:
  docs      FastMCP, protocol auto (it offers server/discover: stateless 2026-07-28), identity jwt,
           scope docs:read; tool delete_doc needs docs:admin, tool purge_all only for alice
  docsess   the same FastMCP server as a 2025-11-25 session (protocol "session"), same rules
  calc      the SDK server, protocol auto (stateless), identity none, open to every caller
  calcsess  the same SDK server as a 2025-11-25 session
  ops       the same SDK server, stateless, only for alice
  files     the stdio server (started by the gateway)

Tests that break an upstream (kill it, crash it) get a gateway and upstreams of their own.

Environment:
  GATEHOUSE_BIN  path of the server binary (default: <repo>/.build/debug/gatehouse)
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

import httpx2
import jwt
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import ElicitResult

from conftest import PEERS_DIR, GatehouseServer, PeerServer
from mcp_wire import ACCEPT_BOTH, LATEST_HANDSHAKE, MODERN, TEST_TIMEOUT_S, envelope, modern_headers, run

HTTP_TIMEOUT_S = 5.0

# mode passed to mcp.Client -> protocol version the SDK must end up with. "legacy" is a
# 2025-11-25 session with the gateway; "2026-07-28" the stateless protocol.
MODES = {"legacy": LATEST_HANDSHAKE, MODERN: MODERN}
mode_param = pytest.mark.parametrize("mode", list(MODES))

ALICE = "tok-alice"
BOB = "tok-bob"
STATIC_TOKENS = "tok-alice:client-a:alice:docs:read,docs:admin;tok-bob:client-b:bob:docs:read"
STATIC_AUTH = ["--env", "MCP_PROVIDER_TYPE=static", "--env", f"MCP_STATIC_TOKENS={STATIC_TOKENS}"]

FASTMCP_TOOLS = ["ask_name", "delete_doc", "echo", "purge_all", "slow_count", "whoami"]
BOB_FASTMCP_TOOLS = ["ask_name", "echo", "slow_count", "whoami"]  # no delete_doc (scope), no purge_all (user)
STDIO_TOOLS = ["crash", "pid", "shout"]

ALICE_TOOLS = sorted(
    [f"docs_{t}" for t in FASTMCP_TOOLS]
    + [f"docsess_{t}" for t in FASTMCP_TOOLS]
    + ["calc_add", "calcsess_add", "ops_add"]
    + [f"files_{t}" for t in STDIO_TOOLS]
)
BOB_TOOLS = sorted(
    [f"docs_{t}" for t in BOB_FASTMCP_TOOLS]
    + [f"docsess_{t}" for t in BOB_FASTMCP_TOOLS]
    + ["calc_add", "calcsess_add"]
    + [f"files_{t}" for t in STDIO_TOOLS]
)
ALICE_RESOURCES = sorted(
    [
        "gatehouse+docs:docs://readme",
        "gatehouse+docsess:docs://readme",
        "gatehouse+calc:file:///notes.txt",
        "gatehouse+calcsess:file:///notes.txt",
        "gatehouse+ops:file:///notes.txt",
    ]
)

# How long a call to an upstream that died may take to come back as a tool error.
DEAD_UPSTREAM_ANSWER_S = 5.0
# How long the gateway may take to have a crashed stdio upstream serving again.
STDIO_RESTART_S = 10.0


# --------------------------------------------------------------------------------------
# Fixtures: upstream peers and gateways
# --------------------------------------------------------------------------------------


def start_peer(peer: PeerServer) -> PeerServer:
    try:
        return peer.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)


def start_gateway(server: GatehouseServer) -> GatehouseServer:
    try:
        server.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    return server


def write_config(server: GatehouseServer, upstreams: list[dict[str, Any]]) -> Path:
    """The gateway's --config file, in its working directory (removed with it)."""
    path = Path(server.workdir.name) / "gateway.json"
    path.write_text(json.dumps({"upstreams": upstreams}, indent=2))
    return path


@dataclass
class Gateway:
    server: GatehouseServer
    docs: PeerServer  # FastMCP, verifying the gateway's JWTs
    calc: PeerServer  # the official SDK's server
    stdio_starts: Path  # one line per start of the stdio upstream

    @property
    def url(self) -> str:
        return self.server.mcp_url


@pytest.fixture(scope="session")
def gateway():
    """The gateway of the module docstring, with its upstreams; stopped (and checked to exit 0)
    at the end of the session."""
    server = GatehouseServer("gateway", [], command="gateway")
    docs = PeerServer("fastmcp-docs", "gateway_fastmcp_upstream.py")
    docs.extra_args = [
        "--jwks", server.base_url + "/jwks",
        "--issuer", server.base_url,
        "--audience", docs.mcp_url,
        "--client-token", ALICE,
        "--client-token", BOB,
    ]
    calc = PeerServer("sdk-calc", "gateway_sdk_upstream.py")
    scratch = tempfile.TemporaryDirectory(prefix="gateway-stdio-")
    stdio_starts = Path(scratch.name) / "starts.txt"
    try:
        start_peer(docs)
        start_peer(calc)
        policy = {
            "scopes": ["docs:read"],
            "tools": {"delete_doc": {"scopes": ["docs:admin"]}, "purge_all": {"users": ["alice"]}},
        }
        config = write_config(
            server,
            [
                {"name": "docs", "url": docs.mcp_url, "protocol": "auto", "identity": {"type": "jwt"}, **policy},
                {
                    "name": "docsess",
                    "url": docs.mcp_url,
                    "protocol": "session",
                    "identity": {"type": "jwt", "audience": docs.mcp_url, "lifetime_seconds": 300},
                    **policy,
                },
                {"name": "calc", "url": calc.mcp_url, "identity": {"type": "none"}},
                {"name": "calcsess", "url": calc.mcp_url, "protocol": "session"},
                {"name": "ops", "url": calc.mcp_url, "protocol": "stateless", "users": ["alice"]},
                {
                    "name": "files",
                    "command": sys.executable,
                    "args": [str(PEERS_DIR / "gateway_stdio_upstream.py")],
                    "env": {"GATEWAY_STDIO_STARTS": str(stdio_starts)},
                    "cwd": scratch.name,
                    "timeout_seconds": 20,
                },
            ],
        )
        server.extra_args = [*STATIC_AUTH, "--config", str(config)]
        start_gateway(server)
        try:
            yield Gateway(server, docs, calc, stdio_starts)
        finally:
            server.stop(check=True)
    finally:
        docs.stop(check=False)
        calc.stop(check=False)
        scratch.cleanup()


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def with_client(
    url: str,
    mode: str,
    token: str | None,
    body: Callable[[Client], Awaitable[Any]],
    *,
    elicitation_callback: Any = None,
    timeout: float = TEST_TIMEOUT_S,
) -> Any:
    """Runs `body` with an mcp.Client on `url` in `mode`, sending `Authorization: Bearer token`."""

    async def go() -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(10.0)) as http_client:
            transport = streamable_http_client(url, http_client=http_client)
            async with Client(transport, mode=mode, elicitation_callback=elicitation_callback) as client:
                assert client.session.protocol_version == MODES[mode]
                return await body(client)

    return run(go, timeout)


def text_of(result: Any) -> str:
    assert len(result.content) == 1, f"expected one content block, got {result.content!r}"
    block = result.content[0]
    assert block.type == "text", f"expected a text block, got {block!r}"
    return block.text


def tool_names(result: Any) -> list[str]:
    return sorted(tool.name for tool in result.tools)


def healthz(server: GatehouseServer) -> dict[str, dict[str, Any]]:
    """GET /healthz of a gateway: its upstream lines by name."""
    response = httpx2.get(server.base_url + "/healthz", timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("status") == "ok", body
    return {line["name"]: line for line in body["upstreams"]}


def seen(peer: PeerServer) -> list[dict[str, Any]]:
    """Every request the peer's /mcp received (peers/peer_journal.py)."""
    response = httpx2.get(peer.base_url + "/_peer/seen", timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def raw_call(http: httpx2.Client, url: str, era: str, token: str, name: str, arguments: dict[str, Any]) -> httpx2.Response:
    """tools/call with plain HTTP, in a fresh 2025-11-25 session (era "legacy") or stateless
    2026-07-28, so the HTTP status and headers of the answer can be checked."""
    if era == MODERN:
        return http.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                  "params": {"name": name, "arguments": arguments, "_meta": envelope()}},
            headers={**modern_headers("tools/call", name), **bearer(token)},
        )
    init = http.post(
        url,
        json={"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": LATEST_HANDSHAKE, "capabilities": {},
                         "clientInfo": {"name": "gatehouse-interop", "version": "1"}}},
        headers={"Accept": ACCEPT_BOTH, **bearer(token)},
    )
    assert init.status_code == 200, (init.status_code, init.text[:300])
    session = init.headers["mcp-session-id"]
    headers = {"Accept": ACCEPT_BOTH, "MCP-Protocol-Version": LATEST_HANDSHAKE, "Mcp-Session-Id": session, **bearer(token)}
    note = http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    assert note.status_code == 202, (note.status_code, note.text[:300])
    try:
        return http.post(
            url,
            json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": name, "arguments": arguments}},
            headers=headers,
        )
    finally:
        http.delete(url, headers=headers)


# --------------------------------------------------------------------------------------
# One MCP server made of several: lists, calls, resources, prompts, in both eras
# --------------------------------------------------------------------------------------


@mode_param
def test_lists_join_every_upstream_under_its_name(gateway: Gateway, mode: str) -> None:
    async def body(client: Client) -> None:
        tools = await client.list_tools()
        assert tool_names(tools) == ALICE_TOOLS
        by_name = {tool.name: tool for tool in tools.tools}
        add = by_name["calc_add"].input_schema  # the SDK upstream's schema, unchanged
        assert add["properties"]["a"]["type"] == "integer" and add["properties"]["b"]["type"] == "integer"
        assert sorted(add["required"]) == ["a", "b"]
        echo = by_name["docs_echo"].input_schema  # the FastMCP upstream's
        assert echo["properties"]["text"]["type"] == "string" and echo["required"] == ["text"]
        assert by_name["files_shout"].input_schema["required"] == ["text"]  # the stdio upstream's

        resources = await client.list_resources()
        assert sorted(str(resource.uri) for resource in resources.resources) == ALICE_RESOURCES

        prompts = await client.list_prompts()
        assert sorted(prompt.name for prompt in prompts.prompts) == ["docs_greet", "docsess_greet"]
        greet = {prompt.name: prompt for prompt in prompts.prompts}["docs_greet"]
        assert [argument.name for argument in greet.arguments or []] == ["name"]

    with_client(gateway.url, mode, ALICE, body)


# One call per upstream: (tool, arguments, expected text, expected structured content or None).
TEXT = "héllo wörld · 日本語 🎉 \"quoted\""
CALLS = {
    "docs": ("docs_echo", {"text": TEXT}, TEXT, None),  # FastMCP over 2026-07-28
    "docsess": ("docsess_echo", {"text": TEXT}, TEXT, None),  # FastMCP in a 2025-11-25 session
    "calc": ("calc_add", {"a": 2, "b": 3}, "5", {"result": 5}),  # the SDK over 2026-07-28
    "calcsess": ("calcsess_add", {"a": 2, "b": 5}, "7", {"result": 7}),  # the SDK in a 2025-11-25 session
    "ops": ("ops_add", {"a": 40, "b": 2}, "42", {"result": 42}),  # the SDK, stateless by configuration
    "files": ("files_shout", {"text": "hey"}, "HEY!", None),  # the SDK over stdio
}


@mode_param
@pytest.mark.parametrize("upstream", list(CALLS))
def test_call_reaches_the_upstream(gateway: Gateway, mode: str, upstream: str) -> None:
    name, arguments, text, structured = CALLS[upstream]

    async def body(client: Client) -> Any:
        return await client.call_tool(name, arguments)

    result = with_client(gateway.url, mode, ALICE, body)
    assert result.is_error is not True, result
    assert text_of(result) == text
    if structured is not None:
        assert result.structured_content == structured


def test_session_upstreams_never_see_the_2026_envelope(gateway: Gateway) -> None:
    """A 2026-07-28 client's request carries the protocol envelope in params._meta
    (io.modelcontextprotocol/protocolVersion, clientInfo, clientCapabilities). Forwarded to an
    upstream in a 2025-11-25 session, those keys must go: the official SDK refuses enveloped
    requests on a handshake-era connection ("this connection serves the handshake protocol
    era; requests carrying the 2026-07-28 envelope are not accepted on it"), which is what
    breaks files_* (stdio) for 2026-07-28 clients. Checked on the HTTP session upstreams
    docsess (FastMCP) and calcsess (SDK), whose servers happen to tolerate the keys."""
    docs_before, calc_before = len(seen(gateway.docs)), len(seen(gateway.calc))

    async def body(client: Client) -> None:
        assert text_of(await client.call_tool("docsess_echo", {"text": "x"})) == "x"
        assert (await client.call_tool("calcsess_add", {"a": 1, "b": 1})).structured_content == {"result": 2}

    with_client(gateway.url, MODERN, ALICE, body)
    in_sessions = [
        entry
        for entry in seen(gateway.docs)[docs_before:] + seen(gateway.calc)[calc_before:]
        if entry["session"] is not None
    ]
    assert [entry for entry in in_sessions if entry["method"] == "tools/call"], "no call reached a session upstream"
    enveloped = [
        entry for entry in in_sessions if any(key.startswith("io.modelcontextprotocol/") for key in entry["meta_keys"])
    ]
    assert not enveloped, f"2025-11-25 session upstreams got the 2026-07-28 envelope: {enveloped}"


@mode_param
@pytest.mark.parametrize("upstream", ["docs", "calc"])
def test_results_name_the_gateway_not_the_upstream(gateway: Gateway, mode: str, upstream: str) -> None:
    """The client talks to the gateway: a result's `_meta` never introduces the upstream
    (FastMCP's / the SDK's io.modelcontextprotocol/serverInfo). docs and calc are reached over
    2026-07-28, whose results carry that key; a 2026-07-28 client must see the gateway's, a
    2025-11-25 session client none of the 2026-07-28 result fields."""
    name, arguments, _, _ = CALLS[upstream]

    async def body(client: Client) -> Any:
        return await client.call_tool(name, arguments)

    result = with_client(gateway.url, mode, ALICE, body)
    assert result.is_error is not True, result
    meta = result.meta or {}
    info = meta.get("io.modelcontextprotocol/serverInfo")
    if mode == MODERN:
        assert info is not None and info.get("name") == "gatehouse-gateway", meta
    else:
        assert info is None, f"a 2025-11-25 client got the upstream's 2026-07-28 result _meta: {meta}"


RESOURCES = {
    "docs": ("gatehouse+docs:docs://readme", "# Docs readme"),
    "docsess": ("gatehouse+docsess:docs://readme", "# Docs readme"),
    "calc": ("gatehouse+calc:file:///notes.txt", "sdk notes"),
    "calcsess": ("gatehouse+calcsess:file:///notes.txt", "sdk notes"),
}


@mode_param
@pytest.mark.parametrize("upstream", list(RESOURCES))
def test_read_resource_by_namespaced_uri(gateway: Gateway, mode: str, upstream: str) -> None:
    uri, text = RESOURCES[upstream]

    async def body(client: Client) -> Any:
        return await client.read_resource(uri)

    result = with_client(gateway.url, mode, ALICE, body)
    assert len(result.contents) == 1, result
    content = result.contents[0]
    assert content.text == text, (uri, content)
    assert str(content.uri) == uri, f"the contents' uri is not the one the client asked for: {content.uri}"


@mode_param
def test_read_resource_of_no_upstream_is_not_found(gateway: Gateway, mode: str) -> None:
    async def body(client: Client) -> MCPError:
        with pytest.raises(MCPError) as caught:
            await client.read_resource("gatehouse+nosuch:file:///x")
        return caught.value

    assert with_client(gateway.url, mode, ALICE, body).code == -32002


@mode_param
def test_get_prompt(gateway: Gateway, mode: str) -> None:
    async def body(client: Client) -> None:
        for name in ["docs_greet", "docsess_greet"]:
            result = await client.get_prompt(name, {"name": "Bo"})
            assert len(result.messages) == 1, result
            message = result.messages[0]
            assert message.role == "user"
            assert message.content.type == "text" and message.content.text == "Say hello to Bo."

    with_client(gateway.url, mode, ALICE, body)


@mode_param
@pytest.mark.parametrize("upstream", ["docs", "docsess"])
def test_progress_arrives_in_order_before_the_result(gateway: Gateway, mode: str, upstream: str) -> None:
    """FastMCP's ctx.report_progress, relayed by the gateway as it happens (0.3 s apart), with
    the client's own progress token, before the result."""
    steps = 4

    async def body(client: Client) -> None:
        seen_progress: list[tuple[float, float | None, str | None, float]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen_progress.append((progress, total, message, time.monotonic()))

        result = await client.call_tool(f"{upstream}_slow_count", {"n": steps}, progress_callback=on_progress)
        finished = time.monotonic()
        assert result.is_error is not True, result
        assert text_of(result) == f"counted to {steps}"
        assert [(p, t, m) for p, t, m, _ in seen_progress] == [
            (float(i), float(steps), f"step {i} of {steps}") for i in range(1, steps + 1)
        ], seen_progress
        assert finished - seen_progress[0][3] > 0.5, "the first progress came with the result, not as it happened"

    with_client(gateway.url, mode, ALICE, body)


@pytest.mark.parametrize("upstream", ["docs", "docsess"])
def test_elicitation_round_trip_on_a_session(gateway: Gateway, upstream: str) -> None:
    """A 2025-11-25 session client that can answer elicitation: FastMCP's ctx.elicit reaches it
    through the gateway and the answer goes back. `docsess` is a session upstream; `docs` is
    the same server under protocol "auto" (which the gateway reaches over 2026-07-28)."""
    asked: list[Any] = []

    async def on_elicit(context: Any, params: Any) -> ElicitResult:
        asked.append(params)
        return ElicitResult(action="accept", content={"value": "Ada"})

    async def body(client: Client) -> Any:
        return await client.call_tool(f"{upstream}_ask_name", {})

    result = with_client(gateway.url, "legacy", ALICE, body, elicitation_callback=on_elicit)
    assert len(asked) == 1, f"the client was asked {len(asked)} times; result: {result!r}"
    assert asked[0].message == "What is your name?"
    assert result.is_error is not True, result
    assert text_of(result) == "hello Ada"


# --------------------------------------------------------------------------------------
# Identity toward the upstream: a JWT Gatehouse mints, never the client's token
# --------------------------------------------------------------------------------------


def verify_with_gateway_keys(gateway: Gateway, token: str) -> dict[str, Any]:
    """PyJWT checks the token against the gateway's /jwks (ES256, iss, aud)."""
    jwks = httpx2.get(gateway.server.base_url + "/jwks", timeout=HTTP_TIMEOUT_S)
    assert jwks.status_code == 200, jwks.text
    kid = jwt.get_unverified_header(token).get("kid")
    keys = [key for key in jwks.json()["keys"] if key.get("kid") == kid]
    assert len(keys) == 1, f"no key {kid!r} in the gateway's JWKS: {jwks.json()}"
    return jwt.decode(
        token,
        jwt.PyJWK(keys[0]).key,
        algorithms=["ES256"],
        audience=gateway.docs.mcp_url,
        issuer=gateway.server.base_url,
    )


@mode_param
def test_upstream_sees_a_minted_jwt_never_the_client_token(gateway: Gateway, mode: str) -> None:
    async def whoami(client: Client) -> dict[str, Any]:
        out = {}
        for upstream in ["docs", "docsess"]:
            result = await client.call_tool(f"{upstream}_whoami", {})
            assert result.is_error is not True, result
            out[upstream] = result.structured_content
        return out

    base = gateway.server.base_url
    for token, subject, scopes in [(ALICE, "alice", {"docs:read", "docs:admin"}), (BOB, "bob", {"docs:read"})]:
        answers = with_client(gateway.url, mode, token, whoami)
        for upstream, me in answers.items():
            assert me["authorization"] == "bearer", (upstream, me)
            assert me["verified"] is True, f"FastMCP's JWTVerifier did not accept the gateway's token: {me}"
            assert me["is_client_token"] is False, (upstream, me)
            assert me["sub"] == subject, (upstream, me)
            assert me["iss"] == base, (upstream, me)
            assert me["aud"] == gateway.docs.mcp_url, (upstream, me)
            assert me["act"] == {"sub": base}, (upstream, me)
            assert set((me["scope"] or "").split()) == scopes, (upstream, me)
            claims = me["claims"]
            assert 240 <= claims["exp"] - claims["iat"] <= 360, f"lifetime not about 5 min: {claims}"
            assert claims["exp"] > time.time(), claims

    # No request that reached the FastMCP upstream carried a client token; the MCP requests
    # (POST) carried a gateway JWT that verifies at the gateway's /jwks. (Session ends, DELETE,
    # are checked in test_upstream_session_end_carries_the_identity.)
    journal = seen(gateway.docs)
    assert journal, "the FastMCP upstream saw no request"
    client_headers = {f"Bearer {ALICE}", f"Bearer {BOB}", ALICE, BOB}
    leaked = [entry for entry in journal if entry["authorization"] in client_headers]
    assert not leaked, f"the client's token reached the upstream: {leaked}"
    for entry in journal:
        if entry["http"] == "POST":
            header = entry["authorization"] or ""
            assert header.startswith("Bearer ey"), f"a request to the jwt upstream without a JWT: {entry}"
    posts = [entry for entry in journal if entry["http"] == "POST"]
    claims = verify_with_gateway_keys(gateway, posts[-1]["authorization"].split(" ", 1)[1])
    assert claims["act"] == {"sub": base}

    # identity "none": the SDK upstream gets no Authorization header at all.
    calc_journal = seen(gateway.calc)
    assert calc_journal, "the SDK upstream saw no request"
    assert [entry for entry in calc_journal if entry["authorization"] is not None] == []


def test_upstream_session_end_carries_the_identity(gateway: Gateway) -> None:
    """When a client's 2025-11-25 session with the gateway ends (the SDK DELETEs it), the gateway
    ends the upstream session it opened for it (docsess) with a DELETE, which must carry the
    upstream identity like every other request, or a JWT-protected upstream refuses it (401)
    and the upstream session lingers."""
    before = len(seen(gateway.docs))

    async def body(client: Client) -> None:
        result = await client.call_tool("docsess_echo", {"text": "bye"})
        assert text_of(result) == "bye"

    with_client(gateway.url, "legacy", ALICE, body)
    deadline = time.monotonic() + 5.0
    deletes: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not deletes:
        deletes = [entry for entry in seen(gateway.docs)[before:] if entry["http"] == "DELETE"]
        time.sleep(0.1)
    assert deletes, "the gateway did not end the upstream session when the client's session ended"
    for entry in deletes:
        header = entry["authorization"] or ""
        assert header.startswith("Bearer ey"), f"the gateway ended the upstream session without its JWT: {entry}"


def test_no_token_is_refused_with_a_bearer_challenge(gateway: Gateway, http: httpx2.Client) -> None:
    response = http.post(
        gateway.url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": envelope()}},
        headers=modern_headers("tools/list"),
    )
    assert response.status_code == 401, response.text
    assert response.headers.get("www-authenticate", "").startswith("Bearer"), response.headers


# --------------------------------------------------------------------------------------
# Policy: per-upstream and per-tool rules
# --------------------------------------------------------------------------------------


@mode_param
def test_policy_shapes_each_callers_lists(gateway: Gateway, mode: str) -> None:
    async def lists(client: Client) -> tuple[list[str], list[str]]:
        tools = tool_names(await client.list_tools())
        resources = sorted(str(r.uri) for r in (await client.list_resources()).resources)
        return tools, resources

    alice_tools, alice_resources = with_client(gateway.url, mode, ALICE, lists)
    assert alice_tools == ALICE_TOOLS
    assert "docs_delete_doc" in alice_tools and "docs_purge_all" in alice_tools
    assert alice_resources == ALICE_RESOURCES

    bob_tools, bob_resources = with_client(gateway.url, mode, BOB, lists)
    assert bob_tools == BOB_TOOLS
    assert bob_resources == sorted(
        [
            "gatehouse+docs:docs://readme",
            "gatehouse+docsess:docs://readme",
            "gatehouse+calc:file:///notes.txt",
            "gatehouse+calcsess:file:///notes.txt",
        ]
    )


@mode_param
def test_alice_may_call_the_admin_tools(gateway: Gateway, mode: str) -> None:
    async def body(client: Client) -> None:
        deleted = await client.call_tool("docs_delete_doc", {"doc_id": "7"})
        assert deleted.is_error is not True, deleted
        assert text_of(deleted) == "deleted 7"
        purged = await client.call_tool("docs_purge_all", {})
        assert purged.is_error is not True, purged
        assert text_of(purged) == "purged"

    with_client(gateway.url, mode, ALICE, body)


@mode_param
def test_a_tool_of_another_user_is_unknown_to_bob(gateway: Gateway, mode: str) -> None:
    async def body(client: Client) -> list[MCPError]:
        errors = []
        for name, arguments in [("docs_purge_all", {}), ("ops_add", {"a": 1, "b": 2})]:
            with pytest.raises(MCPError) as caught:
                await client.call_tool(name, arguments)
            errors.append((name, caught.value))
        with pytest.raises(MCPError) as caught:
            await client.read_resource("gatehouse+ops:file:///notes.txt")
        errors.append(("gatehouse+ops:file:///notes.txt", caught.value))
        return errors

    (purge, purge_error), (ops, ops_error), (_, read_error) = with_client(gateway.url, mode, BOB, body)
    assert (purge_error.code, purge_error.message) == (-32602, f"Unknown tool: {purge}")
    assert (ops_error.code, ops_error.message) == (-32602, f"Unknown tool: {ops}")
    assert read_error.code == -32002, read_error


@mode_param
def test_a_tool_needing_a_scope_bob_lacks_is_403_insufficient_scope(gateway: Gateway, mode: str, http: httpx2.Client) -> None:
    response = raw_call(http, gateway.url, mode, BOB, "docs_delete_doc", {"doc_id": "7"})
    assert response.status_code == 403, (response.status_code, response.text[:300])
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer"), challenge
    assert 'error="insufficient_scope"' in challenge, challenge
    assert "docs:admin" in challenge, challenge

    # The same request from alice (who holds docs:admin) goes through.
    allowed = raw_call(http, gateway.url, mode, ALICE, "docs_delete_doc", {"doc_id": "8"})
    assert allowed.status_code == 200, (allowed.status_code, allowed.text[:300])
    assert "deleted 8" in allowed.text


@mode_param
def test_the_sdk_client_gets_an_error_for_bobs_admin_call(gateway: Gateway, mode: str) -> None:
    async def body(client: Client) -> BaseException:
        try:
            result = await client.call_tool("docs_delete_doc", {"doc_id": "7"})
        except Exception as error:  # noqa: BLE001 - which exception the SDK raises on a 403 is its business
            return error
        raise AssertionError(f"bob's call of docs_delete_doc returned a result: {result!r}")

    error = with_client(gateway.url, mode, BOB, body, timeout=10.0)
    assert error is not None


def test_healthz_shows_every_upstream_up_after_use(gateway: Gateway) -> None:
    async def body(client: Client) -> None:
        await client.list_tools()  # asks every upstream

    with_client(gateway.url, MODERN, ALICE, body)
    lines = healthz(gateway.server)
    assert list(lines) == ["docs", "docsess", "calc", "calcsess", "ops", "files"], lines
    for name, line in lines.items():
        assert line["status"] == "up", line
    # One stdio process serves every caller and was never restarted.
    starts = gateway.stdio_starts.read_text().splitlines()
    assert len(starts) == 1, f"the stdio upstream was started {len(starts)} times: {starts}"


# --------------------------------------------------------------------------------------
# Failures: a dead HTTP upstream, a crashing stdio upstream
# --------------------------------------------------------------------------------------


@mode_param
def test_dead_upstream_is_a_prompt_tool_error_and_down_in_healthz(mode: str) -> None:
    """The FastMCP upstream is killed (SIGKILL); a call to it comes back within 5 s as a tool
    result with isError, /healthz says it is down, and the SDK upstream's tools still list."""
    server = GatehouseServer("gateway-dead", [], command="gateway")
    docs = PeerServer("fastmcp-doomed", "gateway_fastmcp_upstream.py")
    calc = PeerServer("sdk-survivor", "gateway_sdk_upstream.py")
    try:
        start_peer(docs)
        start_peer(calc)
        server.extra_args = [
            "--provider", "none",
            "--upstream", f"docs={docs.mcp_url}",
            "--upstream", f"calc={calc.mcp_url}",
        ]
        start_gateway(server)
        try:
            before = healthz(server)
            assert {name: line["status"] for name, line in before.items()} == {"docs": "unknown", "calc": "unknown"}, before

            async def warm_up(client: Client) -> None:
                assert tool_names(await client.list_tools()) == sorted(
                    ["calc_add"] + [f"docs_{t}" for t in FASTMCP_TOOLS]
                )
                assert text_of(await client.call_tool("docs_echo", {"text": "alive"})) == "alive"

            with_client(server.mcp_url, mode, None, warm_up)
            assert healthz(server)["docs"]["status"] == "up"

            assert docs.process is not None
            docs.process.kill()
            docs.process.wait(timeout=5)

            async def call_dead(client: Client) -> tuple[Any, float]:
                started = time.monotonic()
                result = await client.call_tool("docs_echo", {"text": "anyone?"})
                return result, time.monotonic() - started

            result, elapsed = with_client(server.mcp_url, mode, None, call_dead)
            assert elapsed < DEAD_UPSTREAM_ANSWER_S, f"the call to a dead upstream took {elapsed:.1f} s"
            assert result.is_error is True, result
            message = text_of(result)
            assert "docs" in message and "did not answer" in message, message

            lines = healthz(server)
            assert lines["docs"]["status"] == "down", lines
            assert lines["docs"].get("reason"), lines
            assert lines["calc"]["status"] == "up", lines

            async def list_after(client: Client) -> tuple[list[str], float, Any]:
                started = time.monotonic()
                names = tool_names(await client.list_tools())
                listed = time.monotonic() - started
                added = await client.call_tool("calc_add", {"a": 1, "b": 1})
                return names, listed, added

            names, listed, added = with_client(server.mcp_url, mode, None, list_after)
            assert names == ["calc_add"], names
            assert listed < DEAD_UPSTREAM_ANSWER_S, f"tools/list took {listed:.1f} s with one upstream dead"
            assert added.structured_content == {"result": 2}, added
        finally:
            server.stop(check=True)
    finally:
        docs.stop(check=False)
        calc.stop(check=False)


@mode_param
def test_stdio_upstream_restarts_after_it_crashes(mode: str) -> None:
    """crash() makes the stdio server exit without answering: the call is a prompt tool error,
    and the gateway starts the server again (backoff), so a later call succeeds within ~10 s,
    answered by a new process."""
    script = PEERS_DIR / "gateway_stdio_upstream.py"
    server = GatehouseServer(
        "gateway-stdio",
        ["--provider", "none", "--upstream", f"files=stdio:{sys.executable} {script}"],
        command="gateway",
    )
    start_gateway(server)
    try:

        async def first(client: Client) -> tuple[int, Any, float]:
            shouted = await client.call_tool("files_shout", {"text": "one"})
            assert text_of(shouted) == "ONE!", shouted
            pid = (await client.call_tool("files_pid", {})).structured_content["result"]
            started = time.monotonic()
            crashed = await client.call_tool("files_crash", {})
            return pid, crashed, time.monotonic() - started

        first_pid, crashed, elapsed = with_client(server.mcp_url, mode, None, first)
        assert crashed.is_error is True, crashed
        assert "did not answer" in text_of(crashed), text_of(crashed)
        assert elapsed < DEAD_UPSTREAM_ANSWER_S, f"the crashing call took {elapsed:.1f} s"

        async def until_back(client: Client) -> tuple[Any, int, float, list[str]]:
            started = time.monotonic()
            failures: list[str] = []
            while True:
                shouted = await client.call_tool("files_shout", {"text": "again"})
                if shouted.is_error is not True:
                    break
                failures.append(text_of(shouted))
                if time.monotonic() - started > STDIO_RESTART_S:
                    raise AssertionError(f"the stdio upstream did not come back in {STDIO_RESTART_S:.0f} s: {failures}")
                await asyncio.sleep(0.25)
            back_after = time.monotonic() - started
            pid = (await client.call_tool("files_pid", {})).structured_content["result"]
            return shouted, pid, back_after, failures

        shouted, second_pid, back_after, failures = with_client(
            server.mcp_url, mode, None, until_back, timeout=STDIO_RESTART_S + 10
        )
        assert text_of(shouted) == "AGAIN!", (shouted, failures)
        assert second_pid != first_pid, "the same process answered: it never crashed?"
        assert healthz(server)["files"]["status"] == "up"
    finally:
        server.stop(check=True)


# --------------------------------------------------------------------------------------
# The HTTP+SSE transport of 2024-11-05 as an upstream
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sse_gateway():
    """A gateway in front of the SDK server on its 2024-11-05 HTTP+SSE transport, telling it who
    calls with identity headers (loopback only)."""
    legacy = PeerServer("sdk-sse", "gateway_sdk_upstream.py", ["--transport", "sse"])
    server = GatehouseServer("gateway-sse", [], command="gateway")
    try:
        start_peer(legacy)
        config = write_config(
            server, [{"name": "legacy", "url": legacy.base_url + "/sse", "transport": "sse", "identity": {"type": "headers"}}]
        )
        server.extra_args = [*STATIC_AUTH, "--config", str(config)]
        start_gateway(server)
        try:
            yield server, legacy
        finally:
            server.stop(check=True)
    finally:
        legacy.stop(check=False)


@mode_param
def test_an_http_sse_upstream_is_listed_called_and_told_who_calls(sse_gateway: tuple[GatehouseServer, PeerServer], mode: str) -> None:
    server, legacy = sse_gateway

    async def body(client: Client) -> None:
        assert tool_names(await client.list_tools()) == ["legacy_add"]
        result = await client.call_tool("legacy_add", {"a": 2, "b": 3})
        assert not result.is_error, result
        assert text_of(result) == "5"
        resources = await client.list_resources()
        assert [str(r.uri) for r in resources.resources] == ["gatehouse+legacy:file:///notes.txt"]
        read = await client.read_resource("gatehouse+legacy:file:///notes.txt")
        assert read.contents[0].text == "sdk notes"

    with_client(server.mcp_url, mode, ALICE, body)
    posts = [entry for entry in seen(legacy) if entry["http"] == "POST" and entry["method"] == "tools/call"]
    assert posts, seen(legacy)
    assert all(entry["subject"] == "alice" for entry in posts), posts
    assert all(entry["authorization"] is None for entry in seen(legacy)), "the client's token reached the upstream"


# --------------------------------------------------------------------------------------
# RFC 8693 token exchange as the upstream identity
# --------------------------------------------------------------------------------------


class ExchangeEndpoint:
    """A provider token endpoint (a thread of this process) that exchanges any subject token for
    `exchanged-<n>` and remembers each form it received."""

    def __init__(self) -> None:
        import http.server
        import threading
        import urllib.parse

        forms: list[dict[str, str]] = []
        self.forms = forms

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                forms.append(form)
                body = json.dumps({"access_token": f"exchanged-{len(forms)}", "token_type": "Bearer", "expires_in": 300,
                                   "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_exchange_identity_sends_the_callers_token_to_the_provider_only(monkeypatch: pytest.MonkeyPatch) -> None:
    exchange = ExchangeEndpoint()
    calc = PeerServer("sdk-exchange", "gateway_sdk_upstream.py")
    server = GatehouseServer("gateway-exchange", [], command="gateway")
    try:
        start_peer(calc)
        config = write_config(server, [{
            "name": "calc", "url": calc.mcp_url,
            "identity": {"type": "exchange", "token_endpoint": exchange.url, "client_id": "gateway", "client_secret_env": "GW_EXCHANGE_SECRET"},
        }])
        # The client secret comes from the gateway's environment, never from the file.
        monkeypatch.setenv("GW_EXCHANGE_SECRET", "s3cret")
        server.extra_args = [*STATIC_AUTH, "--config", str(config)]
        start_gateway(server)
        try:
            async def body(client: Client) -> None:
                result = await client.call_tool("calc_add", {"a": 1, "b": 1})
                assert not result.is_error, result

            with_client(server.mcp_url, "legacy", ALICE, body)
        finally:
            server.stop(check=True)
        assert exchange.forms and exchange.forms[0]["subject_token"] == ALICE, exchange.forms
        assert exchange.forms[0]["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
        assert exchange.forms[0]["resource"] == calc.mcp_url
        authorizations = {entry["authorization"] for entry in seen(calc) if entry["http"] == "POST"}
        assert authorizations == {"Bearer exchanged-1"}, authorizations
    finally:
        calc.stop(check=False)
        exchange.stop()
