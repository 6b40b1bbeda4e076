"""`gatehouse bridge URL`: a desktop client that only launches commands (Claude Desktop's
claude_desktop_config.json) talks to a remote OAuth-protected MCP server through it.

The client is the official Python MCP SDK's stdio client, launching the bridge exactly as a
desktop client would. The person signs in with headless Chromium when the bridge prints its
sign-in URL on standard error: on Gatehouse's sign-in page (a password user), at the Python
SDK's own authorization server (it approves at once), and a second time when the server asks
for more scopes (step-up). Both of the SDK's modes run: "auto" (stateless 2026-07-28 over the
bridge) and "legacy" (an initialize handshake and a session).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from conftest import GatehouseServer, PeerServer, start_extra_server
from mcp_wire import LATEST_HANDSHAKE, MODERN
from browser import chromium_browser, keep_to_loopback
from test_client import BINARY

RUN_TIMEOUT_S = 60.0
PAGE_TIMEOUT_MS = 15_000
EMAIL, PASSWORD = "desktop@example.com", "a long desktop password"
SDK_MODES = {"auto": MODERN, "legacy": LATEST_HANDSHAKE}


class SignInWatcher:
    """Reads the bridge's standard error as it is written; each sign-in URL it prints is opened in
    headless Chromium, where the person signs in (on Gatehouse's page with EMAIL and PASSWORD, or
    wherever an auto-approving server sends them) until the browser reaches the bridge's loopback
    callback.

    Entering waits (bounded) until Chromium has started: the SDK in "auto" mode gives its first
    request (server/discover) 10 s before it falls back to the 2025-11-25 handshake, and on a
    loaded machine launching Chromium took much of that, so the era the test checks depended on
    the machine's load, not on the bridge."""

    BROWSER_START_TIMEOUT_S = 30.0

    def __init__(self, errlog: Path) -> None:
        self.errlog = errlog
        self.urls: list[str] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "SignInWatcher":
        self._thread.start()
        if not self._ready.wait(self.BROWSER_START_TIMEOUT_S):
            self.failures.append(f"Chromium did not start within {self.BROWSER_START_TIMEOUT_S:.0f} s")
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        seen = 0
        with chromium_browser() as browser:
            self._ready.set()
            while not self._stop.is_set():
                lines = self.errlog.read_text(errors="replace").splitlines() if self.errlog.exists() else []
                for line in lines[seen:]:
                    if line.startswith("http"):
                        self.urls.append(line.strip())
                        try:
                            self._sign_in(browser, line.strip())
                        except Exception as error:  # reported by the test, with the bridge's log
                            self.failures.append(f"{line.strip()}: {error!r}")
                seen = len(lines)
                time.sleep(0.1)

    @staticmethod
    def _sign_in(browser: Any, url: str) -> None:
        context = browser.new_context()
        keep_to_loopback(context)
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        try:
            callback = re.compile(r"http://127\.0\.0\.1:\d+/callback\?.*")
            page.goto(url)
            if not callback.match(page.url) and page.locator("input[name=email]").count():
                page.fill("input[name=email]", EMAIL)
                page.fill("input[name=password]", PASSWORD)
                page.get_by_role("button", name="Sign in and allow").click()
            page.wait_for_url(callback)
        finally:
            context.close()


def run_through_bridge(
    url: str, tmp_path: Path, mode: str, body: Callable[[Client], Awaitable[Any]], *extra: str
) -> tuple[Any, SignInWatcher, str]:
    """Launches `gatehouse bridge URL` as the SDK's stdio server, signs in when it asks, runs `body`;
    returns its result, the watcher and the bridge's standard error."""
    errlog = tmp_path / "bridge.stderr"
    params = StdioServerParameters(
        command=str(BINARY),
        args=["bridge", "--no-browser", "--config-dir", str(tmp_path / "config"), "--timeout", "60", *extra, url],
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )

    async def go() -> Any:
        with errlog.open("w") as stderr:
            async with Client(stdio_client(params, errlog=stderr), mode=mode) as client:
                assert client.session.protocol_version == SDK_MODES[mode]
                return await body(client)

    errlog.write_text("")  # a new run: the watcher must not find the sign-in URL of an earlier one
    with SignInWatcher(errlog) as watcher:
        try:
            result = asyncio.run(asyncio.wait_for(go(), RUN_TIMEOUT_S))
        except BaseException as error:
            raise AssertionError(
                f"the SDK's session through the bridge failed: {error!r}\n--- sign-ins ---\n{watcher.failures}\n"
                f"--- bridge stderr ---\n{errlog.read_text(errors='replace') if errlog.exists() else ''}"
            ) from error
    return result, watcher, errlog.read_text(errors="replace")


async def whoami_and_add(client: Client) -> dict[str, Any]:
    tools = {tool.name for tool in (await client.list_tools()).tools}
    assert {"whoami", "add"} <= tools, tools
    added = await client.call_tool("add", {"a": 2, "b": 3})
    assert added.structured_content == {"result": 5}, added
    who = await client.call_tool("whoami", {})
    assert who.is_error is not True, who
    return who.structured_content


@pytest.fixture(scope="module")
def password_hub():
    hub = start_extra_server("bridge-hub", [])
    try:
        hub.add_user(EMAIL, "Desktop User", PASSWORD)
        yield hub
    finally:
        hub.stop()


@pytest.mark.parametrize("mode", list(SDK_MODES))
def test_a_desktop_client_reaches_the_hub_through_the_bridge(password_hub: GatehouseServer, tmp_path: Path, mode: str) -> None:
    """The first request gets 401; the bridge discovers, registers, prints the sign-in URL; the
    person signs in on Gatehouse's page; the SDK's requests then go through as that person. A
    second run of the bridge uses the cached tokens: no sign-in."""
    who, watcher, stderr = run_through_bridge(password_hub.mcp_url, tmp_path, mode, whoami_and_add)
    assert who["email"] == EMAIL and who["authenticated"] is True, who
    assert len(watcher.urls) == 1 and watcher.urls[0].startswith(password_hub.base_url + "/authorize?"), stderr
    assert not watcher.failures, watcher.failures
    again, watcher, stderr = run_through_bridge(password_hub.mcp_url, tmp_path, mode, whoami_and_add)
    assert again["email"] == EMAIL and watcher.urls == [], stderr
    tokens = json.loads((tmp_path / "config" / "tokens.json").read_text())
    assert password_hub.mcp_url in tokens


def test_the_bridge_signs_in_again_for_more_scopes(tmp_path: Path) -> None:
    """The server needs mcp:read on every request; the bridge first asks for another scope only,
    gets 403 insufficient_scope, signs in again for the union (a second browser trip), and the
    request goes through."""
    hub = start_extra_server("bridge-step-up", ["--required-scopes", "mcp:read"])
    try:
        hub.add_user(EMAIL, "Desktop User", PASSWORD)
        who, watcher, stderr = run_through_bridge(hub.mcp_url, tmp_path, "legacy", whoami_and_add, "--scope", "profile")
        assert who["email"] == EMAIL, who
        assert len(watcher.urls) == 2, stderr
        assert "mcp:read" not in watcher.urls[0] and "mcp%3Aread" in watcher.urls[1], watcher.urls
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def sdk_peer():
    peer = PeerServer("bridge-sdk-auth", "sdk_auth_server.py")
    peer.start()
    try:
        yield peer
    finally:
        peer.stop(check=True)


def test_the_bridge_signs_in_at_the_python_sdks_authorization_server(sdk_peer: PeerServer, tmp_path: Path) -> None:
    """A server nobody on the team wrote, which is its own authorization server (the Python SDK's
    /register, /authorize, /token): the bridge registers there and signs in."""

    async def add(client: Client) -> Any:
        result = await client.call_tool("add", {"a": 20, "b": 22})
        return result.structured_content

    result, watcher, stderr = run_through_bridge(sdk_peer.mcp_url, tmp_path, "legacy", add)
    assert result == {"result": 42}, result
    assert len(watcher.urls) == 1 and watcher.urls[0].startswith(sdk_peer.base_url + "/authorize?"), stderr


def test_a_line_that_is_not_json_gets_a_parse_error_and_the_bridge_goes_on(password_hub: GatehouseServer, tmp_path: Path) -> None:
    """JSON-RPC 2.0 §5.1 over stdio: garbage gets -32700 with a null id; closing standard input ends
    the bridge with status 0."""
    process = subprocess.run(
        [str(BINARY), "bridge", "--no-browser", "--config-dir", str(tmp_path), "--timeout", "1", password_hub.mcp_url],
        input="this is not json\n", capture_output=True, text=True, timeout=30,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert process.returncode == 0, process.stderr
    answer = json.loads(process.stdout.splitlines()[0])
    assert answer == {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "not a JSON-RPC message"}}, answer


def test_client_config_prints_the_bridge_for_claude_desktop(tmp_path: Path) -> None:
    config = subprocess.run(
        [str(BINARY), "client-config", "claude-desktop", "https://mcp.example.com/mcp", "--name", "hub"],
        capture_output=True, text=True, timeout=30, cwd=tmp_path,
    )
    assert config.returncode == 0, config.stderr
    server = json.loads(config.stdout)["mcpServers"]["hub"]
    assert server["args"] == ["bridge", "https://mcp.example.com/mcp"], server
    assert Path(server["command"]).resolve() == BINARY.resolve(), server
