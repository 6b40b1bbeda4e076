"""Raw HTTP checks of the Streamable HTTP transport, error paths first.

Each error test asserts the HTTP status and the JSON-RPC error code in the body.
The HTTP client is httpx2 (the client library the mcp 2.3.0 SDK depends on);
the `http` fixture sets a timeout on every call.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Iterator

import httpx2
import pytest

from mcp_wire import ACCEPT_BOTH, HUB_TOOLS, MODERN, envelope, modern_headers


PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
HEADER_MISMATCH = -32020
UNSUPPORTED_PROTOCOL_VERSION = -32022


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------






def sentinel(value: str) -> str:
    """The `=?base64?...?=` header encoding of a value."""
    return "=?base64?" + base64.b64encode(value.encode("utf-8")).decode("ascii") + "?="


def json_body(response: httpx2.Response) -> Any:
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("application/json"), (
        f"expected application/json, got {content_type!r} (status {response.status_code}): {response.text[:500]!r}"
    )
    return response.json()


def expect_error(response: httpx2.Response, status: int, code: int) -> dict[str, Any]:
    """Assert HTTP status and JSON-RPC error code; return the decoded body."""
    assert response.status_code == status, (
        f"expected HTTP {status}, got {response.status_code}: {response.text[:500]!r}"
    )
    body = json_body(response)
    assert isinstance(body, dict), body
    assert body.get("jsonrpc") == "2.0", body
    assert "result" not in body, body
    error = body.get("error")
    assert isinstance(error, dict), body
    assert error.get("code") == code, f"expected JSON-RPC code {code}, got {error!r}"
    assert isinstance(error.get("message"), str) and error["message"], body
    return body


def expect_result(response: httpx2.Response, request_id: Any) -> dict[str, Any]:
    assert response.status_code == 200, f"HTTP {response.status_code}: {response.text[:500]!r}"
    body = json_body(response)
    assert body.get("jsonrpc") == "2.0", body
    assert "error" not in body, body
    assert body.get("id") == request_id, body
    return body["result"]


def initialize_body(version: str, request_id: int = 1) -> dict[str, Any]:
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


def session_headers(session_id: str, version: str) -> dict[str, str]:
    headers = {"Accept": ACCEPT_BOTH, "Content-Type": "application/json", "Mcp-Session-Id": session_id}
    if version not in ("2024-11-05", "2025-03-26"):  # the version header exists from 2025-06-18 on
        headers["MCP-Protocol-Version"] = version
    return headers


class Session:
    """A session-era conversation: initialize + notifications/initialized, DELETE at the end."""

    def __init__(self, http: httpx2.Client, url: str, version: str) -> None:
        self.http = http
        self.url = url
        self.version = version
        response = http.post(url, json=initialize_body(version), headers={"Accept": ACCEPT_BOTH})
        result = expect_result(response, 1)
        assert result["protocolVersion"] == version, result
        session_id = response.headers.get("mcp-session-id")
        assert session_id, dict(response.headers)
        self.id = session_id
        initialized = http.post(
            url,
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers=self.headers(),
        )
        assert initialized.status_code == 202, (initialized.status_code, initialized.text)
        assert initialized.content == b""

    def headers(self, **overrides: str) -> dict[str, str]:
        return {**session_headers(self.id, self.version), **overrides}

    def post(self, body: Any, **header_overrides: str) -> httpx2.Response:
        return self.http.post(self.url, json=body, headers=self.headers(**header_overrides))

    def close(self) -> None:
        try:
            self.http.delete(self.url, headers=self.headers())
        except httpx2.HTTPError:
            pass


@pytest.fixture
def open_session(http: httpx2.Client, mcp_url: str) -> Iterator[Any]:
    sessions: list[Session] = []

    def factory(version: str = "2025-11-25") -> Session:
        session = Session(http, mcp_url, version)
        sessions.append(session)
        return session

    yield factory
    for session in sessions:
        session.close()


# --------------------------------------------------------------------------------------
# 2026-07-28 (stateless): request metadata headers and the _meta envelope
# --------------------------------------------------------------------------------------


def test_modern_tools_list_happy_path(http: httpx2.Client, mcp_url: str) -> None:
    """Baseline for the error tests below: a well-formed 2026 request succeeds."""
    response = http.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {"_meta": envelope()}},
        headers=modern_headers("tools/list"),
    )
    result = expect_result(response, 7)
    assert result["resultType"] == "complete"
    assert isinstance(result["ttlMs"], int) and result["ttlMs"] >= 0
    assert result["cacheScope"] in ("public", "private")
    assert sorted(tool["name"] for tool in result["tools"]) == HUB_TOOLS
    assert "mcp-session-id" not in response.headers


def test_modern_server_discover(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": envelope()}},
        headers=modern_headers("server/discover"),
    )
    result = expect_result(response, 1)
    assert MODERN in result["supportedVersions"]
    assert "tools" in result["capabilities"]
    assert result["resultType"] == "complete"
    assert isinstance(result["ttlMs"], int)
    assert result["cacheScope"] in ("public", "private")
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "gatehouse"


def test_modern_mcp_method_header_mismatch(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": envelope()}},
        headers=modern_headers("tools/call"),
    )
    expect_error(response, 400, HEADER_MISMATCH)


def test_modern_missing_mcp_method_header(http: httpx2.Client, mcp_url: str) -> None:
    headers = modern_headers("tools/list")
    del headers["Mcp-Method"]
    response = http.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": envelope()}},
        headers=headers,
    )
    expect_error(response, 400, HEADER_MISMATCH)


def test_modern_missing_mcp_name_on_tools_call(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "hi"}, "_meta": envelope()},
        },
        headers=modern_headers("tools/call"),  # no Mcp-Name
    )
    expect_error(response, 400, HEADER_MISMATCH)


def test_modern_mcp_name_mismatch(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "hi"}, "_meta": envelope()},
        },
        headers=modern_headers("tools/call", name="add"),
    )
    expect_error(response, 400, HEADER_MISMATCH)


def test_modern_protocol_version_header_without_meta(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        headers=modern_headers("tools/list"),
    )
    expect_error(response, 400, INVALID_PARAMS)


def test_modern_meta_missing_client_capabilities(http: httpx2.Client, mcp_url: str) -> None:
    meta = envelope()
    del meta["io.modelcontextprotocol/clientCapabilities"]
    response = http.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}},
        headers=modern_headers("tools/list"),
    )
    expect_error(response, 400, INVALID_PARAMS)


def test_modern_protocol_version_header_mismatching_meta(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": envelope("2099-01-01")}},
        headers=modern_headers("tools/list"),  # header says 2026-07-28
    )
    expect_error(response, 400, HEADER_MISMATCH)


def test_modern_unsupported_protocol_version(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": envelope("2099-01-01")}},
        headers=modern_headers("tools/list", version="2099-01-01"),
    )
    body = expect_error(response, 400, UNSUPPORTED_PROTOCOL_VERSION)
    data = body["error"].get("data")
    assert isinstance(data, dict), body
    assert MODERN in data.get("supported", []), body


def test_modern_unknown_method(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 5, "method": "foo/bar", "params": {"_meta": envelope()}},
        headers=modern_headers("foo/bar"),
    )
    body = expect_error(response, 404, METHOD_NOT_FOUND)
    assert body["id"] == 5


@pytest.mark.parametrize("method", ["initialize", "ping"])
def test_modern_removed_methods_are_not_found(http: httpx2.Client, mcp_url: str, method: str) -> None:
    params: dict[str, Any] = {"_meta": envelope()}
    if method == "initialize":
        params.update(protocolVersion=MODERN, capabilities={}, clientInfo={"name": "x", "version": "1"})
    response = http.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
        headers=modern_headers(method),
    )
    expect_error(response, 404, METHOD_NOT_FOUND)


def test_modern_base64_mcp_name(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json={
            "jsonrpc": "2.0",
            "id": 9,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "via base64"}, "_meta": envelope()},
        },
        headers=modern_headers("tools/call", name=sentinel("echo")),
    )
    result = expect_result(response, 9)
    assert result.get("isError") is not True, result
    assert result["content"] == [{"type": "text", "text": "via base64"}]
    assert result["resultType"] == "complete"


def test_modern_base64_mcp_name_mismatch(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json={
            "jsonrpc": "2.0",
            "id": 9,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "x"}, "_meta": envelope()},
        },
        headers=modern_headers("tools/call", name=sentinel("add")),
    )
    expect_error(response, 400, HEADER_MISMATCH)


def test_modern_unknown_tool(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json={
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "nope", "arguments": {}, "_meta": envelope()},
        },
        headers=modern_headers("tools/call", name="nope"),
    )
    assert response.status_code in (200, 400), response.text
    body = json_body(response)
    assert body["id"] == 3
    assert body["error"]["code"] == INVALID_PARAMS
    assert body["error"]["message"] == "Unknown tool: nope"


def test_modern_get_is_405(http: httpx2.Client, mcp_url: str) -> None:
    response = http.get(mcp_url, headers={"Accept": "text/event-stream", "MCP-Protocol-Version": MODERN})
    assert response.status_code == 405
    assert "POST" in response.headers.get("allow", "")


# --------------------------------------------------------------------------------------
# Session era (2024-11-05 .. 2025-11-25)
# --------------------------------------------------------------------------------------


def test_session_request_without_session_id(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        headers={"Accept": ACCEPT_BOTH, "MCP-Protocol-Version": "2025-11-25"},
    )
    expect_error(response, 400, INVALID_REQUEST)


def test_session_unknown_session_id(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        headers=session_headers("no-such-session-0123456789", "2025-11-25"),
    )
    assert response.status_code == 404, response.text
    body = json_body(response)
    assert "error" in body and isinstance(body["error"].get("code"), int), body


def test_session_initialize_returns_visible_ascii_session_id(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(mcp_url, json=initialize_body("2025-11-25"), headers={"Accept": ACCEPT_BOTH})
    result = expect_result(response, 1)
    assert result["protocolVersion"] == "2025-11-25"
    assert result["serverInfo"]["name"] == "gatehouse"
    session_id = response.headers.get("mcp-session-id")
    try:
        assert session_id, dict(response.headers)
        assert all(0x21 <= ord(ch) <= 0x7E for ch in session_id), repr(session_id)
        assert len(session_id) >= 16, "session ids should be long enough to be unguessable"
    finally:
        if session_id:
            http.delete(mcp_url, headers=session_headers(session_id, "2025-11-25"))


def test_session_ids_are_unique(http: httpx2.Client, mcp_url: str) -> None:
    ids = []
    for _ in range(3):
        response = http.post(mcp_url, json=initialize_body("2025-11-25"), headers={"Accept": ACCEPT_BOTH})
        expect_result(response, 1)
        ids.append(response.headers["mcp-session-id"])
    for session_id in ids:
        http.delete(mcp_url, headers=session_headers(session_id, "2025-11-25"))
    assert len(set(ids)) == 3, ids


def test_session_list_tools_and_call(open_session) -> None:
    session = open_session("2025-11-25")
    tools = expect_result(session.post({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}), 2)
    assert sorted(tool["name"] for tool in tools["tools"]) == HUB_TOOLS
    added = expect_result(
        session.post(
            {"jsonrpc": "2.0", "id": "str-id", "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}}
        ),
        "str-id",
    )
    assert added["structuredContent"] == {"result": 5}
    assert added["content"] == [{"type": "text", "text": "5"}]


def test_session_delete_then_404(http: httpx2.Client, mcp_url: str, open_session) -> None:
    session = open_session("2025-11-25")
    deleted = http.delete(mcp_url, headers=session.headers())
    assert deleted.status_code == 204, (deleted.status_code, deleted.text)
    after = session.post({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert after.status_code == 404, (after.status_code, after.text)
    body = json_body(after)
    assert isinstance(body["error"]["code"], int), body


def test_session_get_is_405_with_allow(http: httpx2.Client, mcp_url: str, open_session) -> None:
    session = open_session("2025-11-25")
    response = http.get(mcp_url, headers={**session.headers(), "Accept": "text/event-stream"})
    assert response.status_code == 405, (response.status_code, response.text)
    allow = response.headers.get("allow")
    assert allow, dict(response.headers)
    methods = {part.strip().upper() for part in allow.split(",")}
    assert "POST" in methods and "GET" not in methods, allow
    if response.content:
        assert json_body(response)["error"]["code"] == INVALID_REQUEST


def test_unsupported_accept_is_406(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json=initialize_body("2025-11-25"),
        headers={"Accept": "text/html", "Content-Type": "application/json"},
    )
    expect_error(response, 406, INVALID_REQUEST)
    assert "mcp-session-id" not in response.headers


def test_wrong_content_type_is_415(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        content=json.dumps(initialize_body("2025-11-25")).encode(),
        headers={"Accept": ACCEPT_BOTH, "Content-Type": "text/plain"},
    )
    expect_error(response, 415, INVALID_REQUEST)
    assert "mcp-session-id" not in response.headers


def test_malformed_json_is_parse_error(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        content=b'{"jsonrpc": "2.0", "id": 1, "method": ',
        headers={"Accept": ACCEPT_BOTH, "Content-Type": "application/json"},
    )
    body = expect_error(response, 400, PARSE_ERROR)
    assert "id" in body and body["id"] is None, body


def test_body_over_one_mebibyte_is_413(http: httpx2.Client, mcp_url: str) -> None:
    request = initialize_body("2025-11-25")
    request["params"]["padding"] = "x" * (1024 * 1024 + 1024)
    payload = json.dumps(request).encode()
    assert len(payload) > 1024 * 1024
    response = http.post(
        mcp_url,
        content=payload,
        headers={"Accept": ACCEPT_BOTH, "Content-Type": "application/json"},
    )
    expect_error(response, 413, INVALID_REQUEST)
    assert "mcp-session-id" not in response.headers


def test_body_just_under_limit_is_accepted(http: httpx2.Client, mcp_url: str) -> None:
    request = initialize_body("2025-11-25")
    request["params"]["padding"] = ""
    overhead = len(json.dumps(request).encode())
    request["params"]["padding"] = "x" * (1024 * 1024 - overhead - 16)
    payload = json.dumps(request).encode()
    assert len(payload) < 1024 * 1024
    response = http.post(
        mcp_url, content=payload, headers={"Accept": ACCEPT_BOTH, "Content-Type": "application/json"}
    )
    expect_result(response, 1)
    http.delete(mcp_url, headers=session_headers(response.headers["mcp-session-id"], "2025-11-25"))


def test_foreign_origin_is_403(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json=initialize_body("2025-11-25"),
        headers={"Accept": ACCEPT_BOTH, "Origin": "https://evil.example"},
    )
    body = expect_error(response, 403, INVALID_REQUEST)
    assert body.get("id") is None
    assert "mcp-session-id" not in response.headers


def test_foreign_origin_is_403_for_modern_requests(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": envelope()}},
        headers={**modern_headers("tools/list"), "Origin": "https://evil.example"},
    )
    assert response.status_code == 403, (response.status_code, response.text)


def test_localhost_origin_is_allowed(http: httpx2.Client, mcp_url: str) -> None:
    response = http.post(
        mcp_url,
        json=initialize_body("2025-11-25"),
        headers={"Accept": ACCEPT_BOTH, "Origin": "http://localhost:5173"},
    )
    result = expect_result(response, 1)
    assert result["protocolVersion"] == "2025-11-25"
    http.delete(mcp_url, headers=session_headers(response.headers["mcp-session-id"], "2025-11-25"))


def test_2025_03_26_session_accepts_batch(open_session) -> None:
    session = open_session("2025-03-26")
    response = session.post(
        [
            {"jsonrpc": "2.0", "id": 10, "method": "tools/list"},
            {"jsonrpc": "2.0", "id": 11, "method": "ping"},
        ]
    )
    assert response.status_code == 200, (response.status_code, response.text)
    body = json_body(response)
    assert isinstance(body, list) and len(body) == 2, body
    by_id = {item["id"]: item for item in body}
    assert set(by_id) == {10, 11}, body
    assert sorted(tool["name"] for tool in by_id[10]["result"]["tools"]) == HUB_TOOLS
    assert by_id[11]["result"] == {}


def test_2025_06_18_session_rejects_batch(open_session) -> None:
    session = open_session("2025-06-18")
    response = session.post(
        [
            {"jsonrpc": "2.0", "id": 10, "method": "tools/list"},
            {"jsonrpc": "2.0", "id": 11, "method": "ping"},
        ]
    )
    expect_error(response, 400, INVALID_REQUEST)


@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26", "2025-06-18"])
def test_old_sessions_report_invalid_arguments_as_jsonrpc_error(open_session, version: str) -> None:
    session = open_session(version)
    response = session.post(
        {"jsonrpc": "2.0", "id": 12, "method": "tools/call", "params": {"name": "add", "arguments": {"a": "x", "b": 1}}}
    )
    body = json_body(response)
    assert body.get("id") == 12, body
    assert "result" not in body, body
    assert body["error"]["code"] == INVALID_PARAMS, body


def test_2025_11_25_session_reports_invalid_arguments_as_tool_error(open_session) -> None:
    session = open_session("2025-11-25")
    result = expect_result(
        session.post(
            {"jsonrpc": "2.0", "id": 12, "method": "tools/call", "params": {"name": "add", "arguments": {"a": "x", "b": 1}}}
        ),
        12,
    )
    assert result["isError"] is True
    assert result["content"][0]["text"].startswith("Invalid arguments for tool add:")


def test_session_unknown_method_is_jsonrpc_error(open_session) -> None:
    session = open_session("2025-11-25")
    response = session.post({"jsonrpc": "2.0", "id": 4, "method": "foo/bar"})
    body = json_body(response)
    assert body.get("id") == 4, body
    assert body["error"]["code"] == METHOD_NOT_FOUND, body


def test_event_stream_only_accept_gets_sse(open_session) -> None:
    session = open_session("2025-11-25")
    response = session.post({"jsonrpc": "2.0", "id": 21, "method": "tools/list"}, Accept="text/event-stream")
    assert response.status_code == 200, (response.status_code, response.text)
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("text/event-stream"), content_type

    # Parse SSE events (blank-line separated; CRLF or LF line endings).
    text = response.text.replace("\r\n", "\n").replace("\r", "\n")
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, list[str]] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            fields.setdefault(key, []).append(value[1:] if value.startswith(" ") else value)
        if fields:
            events.append(fields)
    messages = [e for e in events if e.get("event", ["message"])[-1] == "message" and "".join(e.get("data", []))]
    assert messages, f"no message event with data in {response.text[:500]!r}"
    assert any(e.get("event") == ["message"] for e in messages), "expected an explicit `event: message` line"
    payloads = [json.loads("\n".join(e["data"])) for e in messages]
    final = payloads[-1]
    assert final.get("jsonrpc") == "2.0" and final.get("id") == 21, final
    assert sorted(tool["name"] for tool in final["result"]["tools"]) == HUB_TOOLS
