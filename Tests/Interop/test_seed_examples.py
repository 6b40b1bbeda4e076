"""The command lines of the seed guides (shared/seeds/004: an authorizer in front of an MCP gateway), run as they
are written against `gatehouse hub`, with only the host and port changed."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conftest import start_extra_server

SEED_TOKENS = "dev-token:dev-client:dev-user:read,write"  # the seed's .env.local


@pytest.fixture(scope="module")
def seed_hub():
    server = start_extra_server("seed-004", ["--env", "MCP_PROVIDER_TYPE=static", "--env", f"MCP_STATIC_TOKENS={SEED_TOKENS}"])
    try:
        yield server
    finally:
        server.stop(check=True)


def curl(*arguments: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("curl") is None:
        pytest.fail("curl is not installed (Debian: apt-get install curl)")
    return subprocess.run(["curl", "-sS", "--max-time", "10", *arguments], capture_output=True, text=True, timeout=20)


def test_the_static_token_curl_lists_the_tools(seed_hub) -> None:
    # Seed 004, "Use the static token": no initialize, no Accept, no protocol version.
    done = curl("-H", "Authorization: Bearer dev-token",
                "-H", "Content-Type: application/json",
                "-d", '{"jsonrpc":"2.0","method":"tools/list","id":1}',
                seed_hub.mcp_url)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["id"] == 1, body
    names = {tool["name"] for tool in body["result"]["tools"]}
    assert {"echo", "add", "whoami"} <= names, names


def test_the_unauthenticated_curl_gets_the_challenge(seed_hub) -> None:
    # Seed 004, "Without Authentication (401 Response)".
    done = curl("-i", seed_hub.mcp_url)
    assert done.returncode == 0, done.stderr
    head = done.stdout.split("\r\n\r\n", 1)[0].lower()
    assert head.startswith("http/1.1 401"), head
    assert 'www-authenticate: bearer resource_metadata="' in head, head
