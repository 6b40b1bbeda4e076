"""Single MCP calls to the hub for the tool-call phases' set-up and checks: 2026-07-28 stateless tools/call with a
bearer token (the headers and `_meta` envelope of Tests/Interop/mcp_wire.py)."""

from __future__ import annotations

import json
from typing import Any

from ..http_client import http_request, jsonrpc_payload
from ..runs import STATELESS_VERSION, RunFailed

NOTES_CONFIG = {"notebook": "store bench", "max_notes": 10000}
"""The notes activation of the tool-call phases: the largest quota the catalog allows, so a phase does not fill it."""

ARGUMENTS = {
    "whoami": {},
    "notes_add": {"text": "a note from bench/store.sh"},
    "notes_list": {"limit": 20},
}
"""What wrk sends each tool, on every request."""


def call(mcp_url: str, token: str, tool: str, arguments: dict[str, Any], request_id: int = 1) -> dict[str, Any]:
    """tools/call `tool`; returns the result, or raises RunFailed on an HTTP, JSON-RPC or tool error."""
    body = {
        "jsonrpc": "2.0", "id": request_id, "method": "tools/call",
        "params": {
            "name": tool, "arguments": arguments,
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": STATELESS_VERSION,
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "gatehouse-store-bench", "version": "1"},
            },
        },
    }
    headers = {
        "Accept": "application/json, text/event-stream", "Content-Type": "application/json",
        "MCP-Protocol-Version": STATELESS_VERSION, "Mcp-Method": "tools/call", "Mcp-Name": tool,
        "Authorization": f"Bearer {token}",
    }
    answer = http_request("POST", mcp_url, headers, body)
    if answer.status != 200:
        raise RunFailed(f"tools/call {tool}: HTTP {answer.status} {answer.body[:300]!r}")
    message = jsonrpc_payload(answer)
    result = message.get("result")
    if result is None or result.get("isError") is True:
        raise RunFailed(f"tools/call {tool}: {json.dumps(message)[:300]}")
    return result


def activate_notes(mcp_url: str, token: str) -> None:
    """A notebook with nothing in it: remove_tool notes (which deletes its notes; a tool error when it is not
    there, ignored: add_tool would then refuse the activation it left), then add_tool."""
    try:
        call(mcp_url, token, "remove_tool", {"tool_name": "notes"})
    except RunFailed:
        pass
    call(mcp_url, token, "add_tool", {"tool_name": "notes", "config": NOTES_CONFIG})
