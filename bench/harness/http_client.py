"""A blocking HTTP client for the probes, and reading the JSON-RPC message out of a JSON or SSE answer."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

HTTP_TIMEOUT_S = 5.0


@dataclass
class HTTPAnswer:
    """Status, headers and body of one HTTP response, error statuses included."""

    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """The value of header `name`, compared case-insensitively, or None."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


def http_request(method: str, url: str, headers: dict[str, str] | None = None, body: Any = None) -> HTTPAnswer:
    """Send `body` (JSON-encoded unless None) and return the answer; 4xx and 5xx are answers, not errors."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            return HTTPAnswer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return HTTPAnswer(error.code, dict(error.headers.items()), error.read())


def jsonrpc_payload(answer: HTTPAnswer) -> Any:
    """The JSON-RPC message in a JSON or SSE answer."""
    text = answer.body.decode("utf-8", "replace")
    content_type = (answer.header("Content-Type") or "").lower()
    if content_type.startswith("text/event-stream"):
        for line in text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                return json.loads(line[5:].strip())
        raise ValueError("SSE answer without a data line")
    return json.loads(text)
