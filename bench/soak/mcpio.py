"""MCP over Streamable HTTP with httpx2, by hand, so every status, header and body is seen:
stateless 2026-07-28 requests, 2025-11-25 sessions (initialize, notifications/initialized,
requests, DELETE) and answers as JSON or as an SSE stream (progress notifications first).

Every call is bounded by the client's timeout; nothing here retries."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2

MODERN = "2026-07-28"
SESSION_ERA = "2025-11-25"
ACCEPT_BOTH = "application/json, text/event-stream"
_IDS = itertools.count(1)


def envelope() -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "gatehouse-soak", "version": "1"},
    }


@dataclass
class Answer:
    """One HTTP answer of the MCP endpoint."""

    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float
    messages: list[dict] = field(default_factory=list)  # JSON-RPC messages (JSON body or SSE events)
    request_id: Any = None

    @property
    def response(self) -> dict | None:
        """The JSON-RPC response answering the request (by id), else the last message with a
        result or error."""
        rpc = [m for m in self.messages if m.get("jsonrpc") == "2.0"]
        for message in rpc:
            if message.get("id") == self.request_id and ("result" in message or "error" in message):
                return message
        for message in reversed(rpc):
            if "result" in message or "error" in message:
                return message
        return None

    @property
    def result(self) -> dict | None:
        response = self.response
        return response.get("result") if response else None

    @property
    def error(self) -> dict | None:
        response = self.response
        return response.get("error") if response else None

    @property
    def progress(self) -> list[dict]:
        return [m.get("params", {}) for m in self.messages if m.get("method") == "notifications/progress"]

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def short(self, limit: int = 200) -> str:
        return f"HTTP {self.status} {self.text()[:limit]!r}"


def parse_messages(content_type: str, body: bytes) -> list[dict]:
    if not body:
        return []
    if content_type.startswith("text/event-stream"):
        messages = []
        for block in body.decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n"):
            data = "\n".join(line[5:].lstrip() for line in block.split("\n") if line.startswith("data:"))
            if data:
                try:
                    value = json.loads(data)
                except ValueError:
                    continue
                messages.extend(value if isinstance(value, list) else [value])
        return messages
    try:
        value = json.loads(body)
    except ValueError:
        return []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return [value] if isinstance(value, dict) else []


def _answer(response: httpx2.Response, started: float, request_id: Any) -> Answer:
    headers = {k.lower(): v for k, v in response.headers.items()}
    body = response.content
    return Answer(response.status_code, headers, body, time.monotonic() - started,
                  parse_messages(headers.get("content-type", ""), body), request_id)


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def stateless(http: httpx2.Client, url: str, token: str | None, method: str, params: dict | None = None,
              name: str | None = None, progress: bool = False, timeout: float | None = None) -> Answer:
    """One 2026-07-28 request: routing headers, `_meta` envelope; with `progress`, a
    progressToken so the answer is an SSE stream with notifications/progress first."""
    request_id = next(_IDS)
    params = dict(params or {})
    meta = envelope()
    if progress:
        meta["progressToken"] = f"p-{request_id}"
    params["_meta"] = meta
    headers = {"Accept": ACCEPT_BOTH, "Content-Type": "application/json", "MCP-Protocol-Version": MODERN,
               "Mcp-Method": method, **bearer(token)}
    if name is not None:
        headers["Mcp-Name"] = name
    started = time.monotonic()
    response = http.post(url, json={"jsonrpc": "2.0", "id": request_id, "method": method, "params": params},
                         headers=headers, **({"timeout": timeout} if timeout else {}))
    return _answer(response, started, request_id)


def call(http: httpx2.Client, url: str, token: str | None, tool: str, arguments: dict, progress: bool = False,
         timeout: float | None = None) -> Answer:
    return stateless(http, url, token, "tools/call", {"name": tool, "arguments": arguments}, name=tool,
                     progress=progress, timeout=timeout)


class Session:
    """A 2025-11-25 session: open() = initialize + notifications/initialized."""

    def __init__(self, http: httpx2.Client, url: str, token: str | None) -> None:
        self.http = http
        self.url = url
        self.token = token
        self.id: str | None = None
        self.initialize: Answer | None = None

    def headers(self) -> dict[str, str]:
        headers = {"Accept": ACCEPT_BOTH, "Content-Type": "application/json", **bearer(self.token)}
        if self.id:
            headers["Mcp-Session-Id"] = self.id
            headers["MCP-Protocol-Version"] = SESSION_ERA
        return headers

    def open(self) -> Answer:
        request_id = next(_IDS)
        started = time.monotonic()
        response = self.http.post(self.url, json={
            "jsonrpc": "2.0", "id": request_id, "method": "initialize",
            "params": {"protocolVersion": SESSION_ERA, "capabilities": {},
                       "clientInfo": {"name": "gatehouse-soak", "version": "1"}}}, headers=self.headers())
        answer = _answer(response, started, request_id)
        self.initialize = answer
        if answer.status == 200 and "mcp-session-id" in answer.headers:
            self.id = answer.headers["mcp-session-id"]
            started = time.monotonic()
            note = self.http.post(self.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                                  headers=self.headers())
            if note.status_code != 202:
                return _answer(note, started, None)
        return answer

    def request(self, method: str, params: dict | None = None, progress: bool = False) -> Answer:
        request_id = next(_IDS)
        params = dict(params or {})
        if progress:
            params["_meta"] = {"progressToken": f"p-{request_id}"}
        started = time.monotonic()
        response = self.http.post(self.url, json={"jsonrpc": "2.0", "id": request_id, "method": method,
                                                   "params": params}, headers=self.headers())
        return _answer(response, started, request_id)

    def call(self, tool: str, arguments: dict, progress: bool = False) -> Answer:
        return self.request("tools/call", {"name": tool, "arguments": arguments}, progress=progress)

    def delete(self) -> Answer:
        started = time.monotonic()
        response = self.http.delete(self.url, headers=self.headers())
        return _answer(response, started, None)


def structured(answer: Answer) -> Any:
    result = answer.result or {}
    return result.get("structuredContent")


def first_text(answer: Answer) -> str | None:
    result = answer.result or {}
    for block in result.get("content") or []:
        if block.get("type") == "text":
            return block.get("text")
    return None


def is_tool_error(answer: Answer) -> bool:
    result = answer.result
    return bool(result and result.get("isError"))


def www_authenticate(answer: Answer) -> str:
    return answer.headers.get("www-authenticate", "")


class StreamedCall:
    """A tools/call with a progressToken whose SSE stream is read as it arrives, in a thread, so a
    fault can be injected mid-stream and the moment each event (or the end) came is known."""

    def __init__(self, url: str, token: str | None, tool: str, arguments: dict, read_timeout: float = 60.0,
                 modern: bool = True, session: Session | None = None) -> None:
        self.url = url
        self.token = token
        self.tool = tool
        self.arguments = arguments
        self.read_timeout = read_timeout
        self.modern = modern
        self.session = session
        self.events: list[tuple[float, dict]] = []
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.started = 0.0
        self.ended: float | None = None
        self.error: str | None = None
        self.raw = b""

    def run(self) -> None:
        request_id = next(_IDS)
        self.request_id = request_id
        if self.session is not None:
            headers = self.session.headers()
            body = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                    "params": {"name": self.tool, "arguments": self.arguments, "_meta": {"progressToken": f"p-{request_id}"}}}
        else:
            meta = envelope()
            meta["progressToken"] = f"p-{request_id}"
            headers = {"Accept": ACCEPT_BOTH, "Content-Type": "application/json", "MCP-Protocol-Version": MODERN,
                       "Mcp-Method": "tools/call", "Mcp-Name": self.tool, **bearer(self.token)}
            body = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                    "params": {"name": self.tool, "arguments": self.arguments, "_meta": meta}}
        self.started = time.monotonic()
        timeout = httpx2.Timeout(10.0, read=self.read_timeout)
        buffer = b""
        try:
            with httpx2.Client(timeout=timeout) as http:
                with http.stream("POST", self.url, json=body, headers=headers) as response:
                    self.status = response.status_code
                    self.headers = {k.lower(): v for k, v in response.headers.items()}
                    for chunk in response.iter_bytes():
                        self.raw += chunk
                        buffer += chunk
                        buffer = buffer.replace(b"\r\n", b"\n")
                        while b"\n\n" in buffer:
                            block, buffer = buffer.split(b"\n\n", 1)
                            for message in parse_messages("text/event-stream", block + b"\n\n"):
                                self.events.append((time.monotonic() - self.started, message))
                    if not self.headers.get("content-type", "").startswith("text/event-stream"):
                        for message in parse_messages(self.headers.get("content-type", ""), self.raw):
                            self.events.append((time.monotonic() - self.started, message))
        except Exception as error:  # noqa: BLE001 - recorded: what the client saw
            self.error = f"{type(error).__name__}: {error}"
        self.ended = time.monotonic() - self.started

    @property
    def progress_times(self) -> list[float]:
        return [t for t, m in self.events if m.get("method") == "notifications/progress"]

    @property
    def response(self) -> dict | None:
        for _, message in self.events:
            if "result" in message or "error" in message:
                return message
        return None

    def describe(self) -> str:
        response = self.response
        if response is None:
            what = f"no response ({self.error or 'stream ended'})"
        elif "error" in response:
            what = f"JSON-RPC error {response['error'].get('code')} {response['error'].get('message')!r}"
        elif response["result"].get("isError"):
            texts = [b.get("text") for b in response["result"].get("content", []) if b.get("type") == "text"]
            what = f"tool error {texts[0] if texts else ''!r}"
        else:
            what = "result " + json.dumps(response["result"].get("structuredContent") or response["result"].get("content"))[:120]
        return f"HTTP {self.status}, {len(self.progress_times)} progress, {what} after {self.ended:.2f} s"
