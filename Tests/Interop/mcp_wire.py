"""Shared helpers of the interop suite: protocol constants, the 2026-07-28 request envelope
and headers, and a bounded runner for async test bodies."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

# Upper bound for one test's whole client conversation; nothing may hang.
TEST_TIMEOUT_S = 20.0

MODERN = "2026-07-28"
LATEST_HANDSHAKE = "2025-11-25"

# What every caller of a fresh hub lists, sorted: the built-in tools and the hub's management tools.
HUB_TOOLS = sorted(
    ["echo", "add", "whoami", "wait", "list_available_tools", "add_tool", "remove_tool", "list_my_tools", "configure_tool"]
)
ACCEPT_BOTH = "application/json, text/event-stream"


def run(coro_factory: Callable[[], Awaitable[Any]], timeout: float = TEST_TIMEOUT_S) -> Any:
    """Run one async test body with a hard timeout (seconds)."""

    async def bounded() -> Any:
        try:
            return await asyncio.wait_for(coro_factory(), timeout)
        except BaseExceptionGroup as group:
            # anyio task groups wrap the real failure; surface it so reports stay readable.
            while isinstance(group, BaseExceptionGroup) and len(group.exceptions) == 1:
                group = group.exceptions[0]
            raise group

    return asyncio.run(bounded())


def envelope(version: str = MODERN) -> dict[str, Any]:
    """The `_meta` every 2026-07-28 request carries."""
    return {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "gatehouse-interop", "version": "1"},
    }


def modern_headers(method: str, name: str | None = None, version: str = MODERN) -> dict[str, str]:
    """The routing headers of a 2026-07-28 request."""
    headers = {
        "Accept": ACCEPT_BOTH,
        "Content-Type": "application/json",
        "MCP-Protocol-Version": version,
        "Mcp-Method": method,
    }
    if name is not None:
        headers["Mcp-Name"] = name
    return headers
