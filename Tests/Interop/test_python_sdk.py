"""Interop with the official Python MCP SDK client (mcp==2.3.0).

Every test drives the real `gatehouse hub` binary through `mcp.Client` (or the
low-level `streamable_http_client` + `ClientSession`) and asserts what came back.
"""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable

import httpx2
import pytest
from mcp import Client
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from mcp_wire import HUB_TOOLS, LATEST_HANDSHAKE, MODERN, run



# mode passed to mcp.Client -> protocol version the SDK must end up with.
MODES = {
    "auto": MODERN,
    MODERN: MODERN,
    "legacy": LATEST_HANDSHAKE,
}

mode_param = pytest.mark.parametrize("mode", list(MODES))




def with_client(url: str, mode: str, body: Callable[[Client], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        async with Client(url, mode=mode) as client:
            return await body(client)

    return run(go)


def text_of(result: Any) -> str:
    assert len(result.content) == 1, f"expected one content block, got {result.content!r}"
    block = result.content[0]
    assert block.type == "text", f"expected a text block, got {block!r}"
    return block.text


# --------------------------------------------------------------------------------------
# Version negotiation
# --------------------------------------------------------------------------------------


@mode_param
def test_negotiated_protocol_version(mcp_url: str, mode: str) -> None:
    async def body(client: Client) -> None:
        assert client.session.protocol_version == MODES[mode]
        if mode != MODERN:  # a pinned mode sends no probe, so the SDK has no serverInfo to show
            info = client.session.server_info
            assert info is not None and info.name == "gatehouse"

    with_client(mcp_url, mode, body)


# --------------------------------------------------------------------------------------
# tools/list
# --------------------------------------------------------------------------------------


@mode_param
def test_list_tools(mcp_url: str, mode: str) -> None:
    async def body(client: Client) -> None:
        result = await client.list_tools()
        tools = {tool.name: tool for tool in result.tools}
        assert sorted(tool.name for tool in result.tools) == HUB_TOOLS

        echo = tools["echo"].input_schema
        assert echo["type"] == "object"
        assert echo["properties"]["text"]["type"] == "string"
        assert echo.get("required") == ["text"]

        add = tools["add"].input_schema
        assert add["type"] == "object"
        assert add["properties"]["a"]["type"] == "number"
        assert add["properties"]["b"]["type"] == "number"
        assert sorted(add.get("required", [])) == ["a", "b"]

        whoami = tools["whoami"].input_schema
        assert whoami["type"] == "object"
        assert whoami.get("properties", {}) == {}
        assert not whoami.get("required")

        add_tool = tools["add_tool"].input_schema
        assert add_tool["required"] == ["tool_name"]
        assert add_tool["properties"]["config"]["type"] == "object"
        assert tools["remove_tool"].annotations is not None and tools["remove_tool"].annotations.destructive_hint is True

    with_client(mcp_url, mode, body)


# --------------------------------------------------------------------------------------
# tools/call
# --------------------------------------------------------------------------------------


@mode_param
def test_call_add(mcp_url: str, mode: str) -> None:
    async def body(client: Client) -> None:
        result = await client.call_tool("add", {"a": 2, "b": 3})
        assert result.is_error is not True
        assert text_of(result) == "5"
        assert result.structured_content == {"result": 5}

    with_client(mcp_url, mode, body)


ECHO_CASES = [
    pytest.param("héllo wörld · ✓ — 日本語 · עברית · 🎉👩‍💻 · \"quoted\" \\ back\nslash\ttab", id="unicode"),
    pytest.param("data:,hello", id="data-url"),
    pytest.param("  leading and trailing spaces  ", id="spaces"),
    pytest.param("", id="empty"),
]


@mode_param
@pytest.mark.parametrize("text", ECHO_CASES)
def test_call_echo_round_trips(mcp_url: str, mode: str, text: str) -> None:
    async def body(client: Client) -> None:
        result = await client.call_tool("echo", {"text": text})
        assert result.is_error is not True
        assert text_of(result) == text

    with_client(mcp_url, mode, body)


@mode_param
def test_call_add_invalid_argument_type_is_tool_error(mcp_url: str, mode: str) -> None:
    async def body(client: Client) -> None:
        result = await client.call_tool("add", {"a": "x", "b": 3})
        assert result.is_error is True
        assert text_of(result).startswith("Invalid arguments for tool add:"), text_of(result)

    with_client(mcp_url, mode, body)


@mode_param
def test_call_add_missing_required_argument_is_tool_error(mcp_url: str, mode: str) -> None:
    async def body(client: Client) -> None:
        result = await client.call_tool("add", {"a": 1})
        assert result.is_error is True
        assert text_of(result).startswith("Invalid arguments for tool add:"), text_of(result)

    with_client(mcp_url, mode, body)


@mode_param
def test_call_unknown_tool_is_protocol_error(mcp_url: str, mode: str) -> None:
    async def body(client: Client) -> MCPError:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("no_such_tool", {})
        return caught.value

    error = with_client(mcp_url, mode, body)
    assert error.code == -32602
    assert error.message == "Unknown tool: no_such_tool"


@mode_param
def test_progress_arrives_before_the_result(mcp_url: str, mode: str) -> None:
    """The SDK sends a progressToken when given a progress callback; the hub answers with an SSE
    stream whose progress notifications arrive while the tool is still running, the result last
    (Streamable HTTP: notifications MAY precede the response on the POST's stream), in every era."""

    async def body(client: Client) -> None:
        seen: list[tuple[float, float | None, str | None, float]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen.append((progress, total, message, time.monotonic()))

        result = await client.call_tool("wait", {"seconds": 2}, progress_callback=on_progress)
        finished = time.monotonic()
        assert [(progress, total, message) for progress, total, message, _ in seen] == [
            (1.0, 2.0, "waited 1 of 2 s"),
            (2.0, 2.0, "waited 2 of 2 s"),
        ], seen
        assert finished - seen[0][3] > 0.5, "the first progress came with the result, not before it"
        assert result.is_error is not True
        assert result.structured_content is not None and result.structured_content["waited"] >= 2.0

    with_client(mcp_url, mode, body)


@mode_param
def test_call_whoami_is_anonymous(mcp_url: str, mode: str) -> None:
    async def body(client: Client) -> None:
        result = await client.call_tool("whoami", {})
        assert result.is_error is not True
        assert result.structured_content == {"subject": "anonymous", "authenticated": False, "scopes": []}

    with_client(mcp_url, mode, body)


# --------------------------------------------------------------------------------------
# Custom endpoint path (--mcp-path /api/mcp)
# --------------------------------------------------------------------------------------


@mode_param
def test_custom_mcp_path(gatehouse_api: str, mode: str) -> None:
    async def body(client: Client) -> None:
        assert client.session.protocol_version == MODES[mode]
        names = sorted(tool.name for tool in (await client.list_tools()).tools)
        assert names == HUB_TOOLS
        result = await client.call_tool("add", {"a": 2, "b": 3})
        assert result.is_error is not True
        assert result.structured_content == {"result": 5}

    with_client(gatehouse_api + "/api/mcp", mode, body)


def test_custom_mcp_path_does_not_serve_default_path(gatehouse_api: str) -> None:
    with httpx2.Client(timeout=5.0) as http:
        response = http.post(
            gatehouse_api + "/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"Accept": "application/json, text/event-stream"},
        )
    assert response.status_code == 404


# --------------------------------------------------------------------------------------
# Low-level path: streamable_http_client + ClientSession
# --------------------------------------------------------------------------------------


def is_visible_ascii(value: str) -> bool:
    return len(value) > 0 and all(0x21 <= ord(ch) <= 0x7E for ch in value)


def test_low_level_initialize_session(mcp_url: str) -> None:
    exchanges: list[tuple[str, dict[str, str], int, dict[str, str]]] = []

    async def on_response(response: httpx2.Response) -> None:
        exchanges.append(
            (
                response.request.method,
                {k.lower(): v for k, v in response.request.headers.items()},
                response.status_code,
                {k.lower(): v for k, v in response.headers.items()},
            )
        )

    async def go() -> tuple[Any, Any, Any]:
        http_client = httpx2.AsyncClient(timeout=httpx2.Timeout(10.0), event_hooks={"response": [on_response]})
        async with http_client:
            async with streamable_http_client(mcp_url, http_client=http_client) as (read, write):
                async with ClientSession(read, write) as session:
                    init = await session.initialize()
                    tools = await session.list_tools()
                    added = await session.call_tool("add", {"a": 2, "b": 3})
                    return init, tools, added

    init, tools, added = run(go)

    assert init.protocol_version == LATEST_HANDSHAKE
    assert init.server_info.name == "gatehouse"
    assert init.capabilities.tools is not None
    assert sorted(t.name for t in tools.tools) == HUB_TOOLS
    assert added.structured_content == {"result": 5}

    # The initialize response (first POST) carries the session id.
    method, _, status, headers = exchanges[0]
    assert (method, status) == ("POST", 200)
    session_id = headers.get("mcp-session-id")
    assert session_id is not None and is_visible_ascii(session_id), headers

    # Every later request echoes it, and the client's DELETE on close succeeds.
    later = exchanges[1:]
    posts = [e for e in later if e[0] == "POST"]
    assert len(posts) >= 3  # notifications/initialized, tools/list, tools/call
    for method, request_headers, status, _ in later:
        assert request_headers.get("mcp-session-id") == session_id, (method, request_headers)
    for method, request_headers, status, _ in posts:
        assert request_headers.get("mcp-protocol-version") == LATEST_HANDSHAKE
        assert status in (200, 202), (method, status)
    deletes = [e for e in later if e[0] == "DELETE"]
    assert len(deletes) == 1 and deletes[0][2] in (200, 204), deletes


def test_low_level_discover(mcp_url: str) -> None:
    async def go() -> tuple[Any, Any]:
        async with httpx2.AsyncClient(timeout=httpx2.Timeout(10.0)) as http_client:
            async with streamable_http_client(mcp_url, http_client=http_client) as (read, write):
                async with ClientSession(read, write) as session:
                    discovered = await session.discover()
                    assert session.protocol_version == MODERN
                    added = await session.call_tool("add", {"a": 40, "b": 2})
                    return discovered, added

    discovered, added = run(go)
    assert MODERN in discovered.supported_versions
    assert discovered.capabilities.tools is not None
    assert added.structured_content == {"result": 42}
