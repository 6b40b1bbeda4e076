"""MCP exchanges before the load: open a 2025-11-25 session, and check a tool call and the token refusals.

The ceiling (a bare Hummingbird endpoint with no auth, which ignores Authorization) gets the tool-call
check only, made stricter: the id echoed, the sum exact. The refusals would fail on it by design.
"""

from __future__ import annotations

import json
from typing import Any

from .http_client import http_request, jsonrpc_payload
from .issuer import LocalIssuer
from .runs import CEILING, SESSION_VERSION, STATELESS_VERSION, Run, RunFailed
from .servers import ServerProcess

ACCEPT = "application/json, text/event-stream"


def request_headers(run: Run, token: str | None, session: str | None) -> dict[str, str]:
    """The headers of a tools/call in the run's protocol, with the bearer token and session if any."""
    headers = {
        "Content-Type": "application/json",
        "Accept": ACCEPT,
        "MCP-Protocol-Version": run.protocol,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if run.mode == "stateless":
        headers["Mcp-Method"] = "tools/call"
        headers["Mcp-Name"] = run.tool
    if session:
        headers["Mcp-Session-Id"] = session
    return headers


def call_body(run: Run, request_id: int) -> dict[str, Any]:
    """A tools/call of `add` (by the run's tool name) with a=1, b=1; stateless runs carry the 2026-07-28 `_meta`
    envelope."""
    params: dict[str, Any] = {"name": run.tool, "arguments": {"a": 1, "b": 1}}
    if run.mode == "stateless":
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": STATELESS_VERSION,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def open_session(server: ServerProcess, token: str | None) -> str:
    """initialize (which must negotiate 2025-11-25) and notifications/initialized; returns the session id."""
    headers = {"Content-Type": "application/json", "Accept": ACCEPT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": SESSION_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"},
        },
    }
    answer = http_request("POST", server.mcp_url, headers, init)
    if answer.status != 200:
        raise RunFailed(f"initialize answered HTTP {answer.status}: {answer.body[:300]!r}")
    session = answer.header("Mcp-Session-Id")
    if not session:
        raise RunFailed(f"initialize answered without Mcp-Session-Id: {answer.body[:300]!r}")
    negotiated = jsonrpc_payload(answer).get("result", {}).get("protocolVersion")
    if negotiated != SESSION_VERSION:
        raise RunFailed(f"initialize negotiated {negotiated!r}, not {SESSION_VERSION}")
    headers.update({"Mcp-Session-Id": session, "MCP-Protocol-Version": SESSION_VERSION})
    note = http_request("POST", server.mcp_url, headers, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    if note.status not in (200, 202, 204):
        raise RunFailed(f"notifications/initialized answered HTTP {note.status}: {note.body[:300]!r}")
    return session


PROBE_ID = 424242


def probe(server: ServerProcess, issuer: LocalIssuer | None, token: str | None, session: str | None) -> dict[str, Any]:
    """One call, with `token` if given (must be 200 with the sum) and, with auth, the refused tokens (each a 401,
    minted by `issuer`, which only a run with auth needs).

    The ceiling has no auth: its call is checked exactly (`_check_ceiling_answer`) and no refusal is tried.
    A run with auth off that sends the token all the same gets the call only: nothing checks the token.
    """
    run = server.run
    answer = http_request("POST", server.mcp_url, request_headers(run, token, session), call_body(run, PROBE_ID))
    content_type = answer.header("Content-Type") or ""
    if answer.status != 200:
        raise RunFailed(f"probe tools/call answered HTTP {answer.status}: {answer.body[:300]!r}")
    try:
        message = jsonrpc_payload(answer)
    except ValueError as error:
        raise RunFailed(f"probe answer is not JSON-RPC ({error}): {answer.body[:300]!r}") from error
    result = message.get("result")
    if not isinstance(result, dict) or result.get("isError"):
        raise RunFailed(f"probe tools/call failed: {answer.body[:300]!r}")
    text = json.dumps(result)
    if "2" not in text:
        raise RunFailed(f"probe tools/call result lacks the sum 2: {text[:300]}")
    info: dict[str, Any] = {
        "status": answer.status,
        "content_type": content_type.split(";")[0].strip(),
        "result": result,
        "response_bytes": len(answer.body),
    }
    if run.server == CEILING:
        _check_ceiling_answer(message)
        info["auth_probes"] = "none: the ceiling has no auth and ignores Authorization"
    elif run.auth:
        if issuer is None:
            raise RunFailed("a run with auth needs the issuer to mint the refused tokens")
        info.update(_refusals(server, issuer, session))
    elif run.token_sent:
        info["auth_probes"] = "none: auth is off; the token is sent and ignored"
    return info


def _check_ceiling_answer(message: dict[str, Any]) -> None:
    """The ceiling must echo the id and answer exactly 1 + 1: it stands in for the same work as the MCP servers."""
    if message.get("jsonrpc") != "2.0" or message.get("id") != PROBE_ID:
        raise RunFailed(f"ceiling answer does not echo jsonrpc 2.0 and id {PROBE_ID}: {json.dumps(message)[:300]}")
    result = message["result"]
    content = result.get("content")
    text = content[0].get("text") if isinstance(content, list) and content and isinstance(content[0], dict) else None
    structured = (result.get("structuredContent") or {}).get("result")
    if text != "2" or structured != 2 or result.get("isError") is not False:
        raise RunFailed(f"ceiling answer is not the result of add(1, 1): {json.dumps(result)[:300]}")


def _refusals(server: ServerProcess, issuer: LocalIssuer, session: str | None) -> dict[str, int]:
    """Auth must be on and must check the audience and the issuer, not only the signature: each is a 401."""
    bad_tokens = {
        "without_token_status": None,
        "wrong_audience_status": issuer.mint("http://127.0.0.1:1/other"),
        "wrong_issuer_status": issuer.mint(server.mcp_url, issuer="http://127.0.0.1:1"),
    }
    statuses: dict[str, int] = {}
    for key, bad_token in bad_tokens.items():
        refused = http_request(
            "POST", server.mcp_url, request_headers(server.run, bad_token, session), call_body(server.run, 424243)
        )
        statuses[key] = refused.status
        if refused.status != 401:
            raise RunFailed(f"probe {key.removesuffix('_status')}: HTTP {refused.status}, not 401")
    return statuses

