"""The multi-tenant tools hub, end to end, against the real `gatehouse hub` binary.

Every signed-in caller is provisioned as a row of `users`; each activates tools from the
catalog (notes, memory, http_fetch) for their own account with `add_tool`, and only they see
and can call those tools. Configurations are schema-checked; secret fields are sealed with
GATEHOUSE_SECRET_KEY (AES-GCM) before they reach the database. These tests check that from
the outside:

  test_two_signed_in_users_...      two users of the sign-in form with the official SDK: own
                                    tools, a secret sent to a local target but never stored in
                                    clear, everything still there after a restart; the sqlite3
                                    CLI and `gatehouse users list` show both users
  test_refused_request_...          every refusal is a clear MCP error and changes no row
  test_a_secret_needs_...           secrets are refused by a hub without GATEHOUSE_SECRET_KEY
  test_kill_9_...                   SIGKILL mid-burst: integrity_check ok, no acknowledged
                                    write lost, no half-applied one, the hub restarts on it
  test_online_backup_...            `gatehouse db backup` while the hub writes; `db migrate`
  test_users_data_is_isolated       memory and notes are per user

The hub's database is <workdir>/hub_data/hub.db (conftest.GatehouseServer.database_path);
"nothing changed" compares a dump of users, user_tools, user_notes and user_memory without
users.last_seen_at (which the hub may write at most once a minute on any request).

In cluster mode (GATEHOUSE_INTEROP_DEPLOYMENT=cluster, conftest.py) every hub here is three
instances on one PostgreSQL database behind nginx round robin (peers/cluster.py), and the same
checks go through the cluster: the dump and the rows are read with psycopg, "never in clear at
rest" scans the database's PostgreSQL data files and the write-ahead log, the operator's shell is
psql, `gatehouse users list` gets --database-url, a restart or a kill -9 hits every instance
(PostgreSQL keeps running, so there is no file to integrity_check), and the hub that moves to
another address is another cluster on the same database. Two tests are single-instance (skipped
there): test_a_secret_needs_gatehouse_secret_key (no PostgreSQL hub starts without the key) and
test_online_backup_while_the_hub_writes (`gatehouse db backup` is SQLite's online backup).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import httpx2
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from conftest import GatehouseServer, cluster_mode, instances_of, is_running, start_extra_server
from mcp_wire import HUB_TOOLS, envelope, modern_headers
from test_embedded_login import REDIRECT_URI, FileTokenStorage, SigningInBrowser, Traffic, make_provider, run_sdk
from test_embedded_oauth import Authorization, EmbeddedAS, expect_tokens, query_of

HTTP_TIMEOUT_S = 5.0
CLI_TIMEOUT_S = 30.0
INVALID_PARAMS = -32602

# The tools every signed-in user has, whatever they activated.
BASE_TOOLS = HUB_TOOLS
# The MCP tools each kind of the catalog adds to its user's tools/list.
KIND_TOOLS = {
    "notes": ["notes_add", "notes_list"],
    "memory": ["memory_set", "memory_get", "memory_keys"],
    "http_fetch": ["http_fetch"],
}
HUB_TABLES = ("users", "user_tools", "user_notes", "user_memory")
MIGRATIONS = "v1-authorization-server, v2-hub, v3-refresh-successors-client-use, v4-upstream-login, v5-user-connections, v6-connection-kinds"
REDACTED = "********"
SEALED = re.compile(r"^v1\.[A-Za-z0-9_-]{40,}$")
UTC_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


# ======================================================================================
# Helpers
# ======================================================================================


def new_secret_key() -> str:
    """A GATEHOUSE_SECRET_KEY: 32 random bytes, standard base64."""
    return base64.b64encode(os.urandom(32)).decode()


def tools_of(*kinds: str) -> list[str]:
    """The sorted tools/list of a user who activated `kinds`."""
    return sorted(BASE_TOOLS + [name for kind in kinds for name in KIND_TOOLS[kind]])


def hub_dump(server: GatehouseServer) -> dict[str, list[tuple]]:
    """Every row of the hub's tables, in a stable order, without users.last_seen_at."""
    dump: dict[str, list[tuple]] = {}
    for table in HUB_TABLES:
        columns = [name for name in server.columns(table) if name != "last_seen_at"]
        assert columns, f"table {table} is missing"
        dump[table] = sorted(server.query(f"SELECT {', '.join(columns)} FROM {table}"), key=repr)
    return dump


def database_files(server: GatehouseServer) -> dict[str, bytes]:
    """The raw bytes of the database file and of its -wal and -shm files (those that exist); of a
    cluster, what PostgreSQL keeps of its database on disk (peers.cluster.Cluster.store_files)."""
    if cluster_mode():
        return server.store_files()  # type: ignore[attr-defined]
    files = {}
    for suffix in ("", "-wal", "-shm"):
        path = Path(str(server.database_path) + suffix)
        if path.exists():
            files[path.name] = path.read_bytes()
    return files


def clean_env() -> dict[str, str]:
    """The environment of the CLI commands: nothing of the caller's GATEHOUSE_*/HUB_*/MCP_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("GATEHOUSE_", "HUB_", "MCP_", "WORKOS_"))}


def gatehouse_cli(server: GatehouseServer, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Runs `gatehouse ARGS` (the server's binary) as an operator would, in `cwd`, with what the
    server's store needs in the environment (a cluster's GATEHOUSE_SECRET_KEY)."""
    return subprocess.run(
        [str(server.binary), *args], capture_output=True, text=True, cwd=cwd, env={**clean_env(), **server.store_env},
        timeout=CLI_TIMEOUT_S,
    )


def operator_sql(hub: GatehouseServer, sql: str) -> str:
    """What an operator's SQL shell prints for `sql` on the hub's store, one |-separated line per
    row: the sqlite3 CLI on the database file, or psql (-At) on a cluster's database."""
    if cluster_mode():
        return hub.psql(sql)  # type: ignore[attr-defined]
    shell = subprocess.run(["sqlite3", str(hub.database_path), sql], capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    assert shell.returncode == 0, shell.stderr
    return shell.stdout


def sign_in(server: GatehouseServer, email: str, password: str) -> str:
    """An access token for a local user, obtained the way a browser and a client do it with
    raw HTTP: dynamic registration, GET /authorize (the sign-in page and its cookie), POST of
    the form with email and password, the 303 with the code, and the code redeemed with PKCE."""
    with httpx2.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as browser:
        oauth = EmbeddedAS(server, browser)
        client = oauth.new_client(client_name=f"interop hub {email}")
        page, verifier = oauth.authorize(client)
        assert page.status_code == 200 and "text/html" in page.headers.get("content-type", ""), page.text[:300]
        hidden = dict(re.findall(r'name="(request_id|csrf_token)" value="([^"]*)"', page.text))
        assert set(hidden) == {"request_id", "csrf_token"}, page.text[:500]
        answer = browser.post(
            server.base_url + "/authorize",
            data={**hidden, "email": email, "password": password, "decision": "approve"},
        )
        location = answer.headers.get("location", "")
        assert answer.status_code == 303 and location.startswith(REDIRECT_URI + "?"), (
            f"signing in as {email} failed: HTTP {answer.status_code} {location!r} {answer.text[:300]!r}"
        )
        params = query_of(location)
        assert "code" in params, params
        tokens = expect_tokens(oauth.redeem(client, Authorization(params["code"], verifier, REDIRECT_URI, params)))
        return tokens["access_token"]


def rpc_body(method: str, params: dict[str, Any], request_id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**params, "_meta": envelope()}}


def rpc_headers(token: str, method: str, name: str | None = None) -> dict[str, str]:
    return {**modern_headers(method, name), "Authorization": f"Bearer {token}"}


class RawUser:
    """One signed-in user speaking raw MCP: stateless 2026-07-28 requests with a bearer token."""

    def __init__(self, server: GatehouseServer, token: str, http: httpx2.Client, label: str) -> None:
        self.server, self.token, self.http, self.label = server, token, http, label

    def rpc(self, method: str, params: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        """The JSON-RPC response of one request (200, or 400 for a JSON-RPC error)."""
        response = self.http.post(
            self.server.mcp_url, json=rpc_body(method, params), headers=rpc_headers(self.token, method, name)
        )
        assert response.status_code in (200, 400), (
            f"{self.label} {method} {name}: HTTP {response.status_code} {response.text[:500]!r}"
        )
        assert response.headers.get("content-type", "").startswith("application/json"), response.headers
        body = response.json()
        assert response.status_code == 200 or "error" in body, body
        return body

    def tool_names(self) -> list[str]:
        body = self.rpc("tools/list", {})
        assert "result" in body, body
        return sorted(tool["name"] for tool in body["result"]["tools"])

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return self.rpc("tools/call", {"name": name, "arguments": arguments}, name)

    def ok(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """A successful tool call's result."""
        body = self.call(name, arguments or {})
        assert "result" in body and body["result"].get("isError") is not True, f"{self.label} {name}({arguments}): {body}"
        return body["result"]

    def tool_error(self, name: str, arguments: dict[str, Any]) -> str:
        """The message of a tool call that must fail as a tool result (isError: true)."""
        body = self.call(name, arguments)
        assert "result" in body, f"{self.label} {name}({arguments}): expected a tool result with isError, got {body}"
        result = body["result"]
        assert result.get("isError") is True, f"{self.label} {name}({arguments}) succeeded: {result}"
        texts = [item["text"] for item in result["content"] if item.get("type") == "text"]
        assert len(texts) == 1 and texts[0], result
        return texts[0]

    def unknown_tool(self, name: str, arguments: dict[str, Any]) -> None:
        """tools "Error Handling": a tool this caller does not have is JSON-RPC -32602."""
        body = self.call(name, arguments)
        assert "error" in body, f"{self.label} could call {name}: {body}"
        assert body["error"]["code"] == INVALID_PARAMS and body["error"]["message"] == f"Unknown tool: {name}", body


class FetchTarget:
    """A local HTTP server (thread) that http_fetch may reach: records each request's path and
    Authorization header and answers 200 text/plain."""

    BODY = "hello from the fetch target"

    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None]] = []
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                target.requests.append((self.path, self.headers.get("Authorization")))
                body = FetchTarget.BODY.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="fetch-target", daemon=True)

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return f"http://{self.host_port}{path}"

    def __enter__(self) -> "FetchTarget":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class SdkUser:
    """A local user of the sign-in form with the official SDK (mcp.Client + OAuthClientProvider)
    and an application's persistent token storage; each run() is a new client process."""

    def __init__(self, server: GatehouseServer, storage_path: Path, email: str, password: str, mode: str) -> None:
        self.server, self.email, self.password, self.mode = server, email, password, mode
        self.storage = FileTokenStorage(storage_path)
        self.browser = SigningInBrowser(email, password)

    def run(self, body: Any) -> Any:
        self.browser = SigningInBrowser(self.email, self.password)
        return run_sdk(self.server, self.mode, make_provider(self.server, self.storage, self.browser), Traffic(), body)


async def sdk_tool_names(client: Client) -> list[str]:
    return sorted(tool.name for tool in (await client.list_tools(cache_mode="refresh")).tools)


async def sdk_ok(client: Client, name: str, arguments: dict[str, Any] | None = None) -> Any:
    result = await client.call_tool(name, arguments or {})
    assert result.is_error is not True, f"{name}({arguments}) failed: {result}"
    return result


async def sdk_unknown_tool(client: Client, name: str, arguments: dict[str, Any]) -> None:
    with pytest.raises(MCPError) as raised:
        await client.call_tool(name, arguments)
    assert raised.value.code == INVALID_PARAMS and raised.value.message == f"Unknown tool: {name}", raised.value.error


# ======================================================================================
# 1. Two users of the sign-in form, one hub, a restart
# ======================================================================================

ALICE, BOB = "alice@example.com", "bob@example.com"
ALICE_PASSWORD, BOB_PASSWORD = "alice's long password", "bob's long password"
ALICE_NOTE = "buy oat milk"
BOB_SECRET = "bob-secret"


def test_two_signed_in_users_have_their_own_tools_and_secrets_across_a_restart(tmp_path: Path) -> None:
    """Alice (SDK "auto": the stateless protocol) and Bob (SDK "legacy": sessions) sign in on
    the sign-in form of one hub with GATEHOUSE_SECRET_KEY. Alice adds notes ("Alice's"
    notebook) and writes a note; Bob adds http_fetch with a secret Authorization header that
    reaches a local target. Each sees only their own tools, calling the other's is "Unknown
    tool" and changes nothing, Bob's secret is sealed in the database file and redacted in
    list_my_tools. After a graceful restart on the same port and database, both clients carry
    on with their stored tokens and find their tools, note and configuration; the sqlite3 CLI
    (psql for a cluster) and `gatehouse users list` show both users, signed in with the
    embedded provider."""
    if not cluster_mode() and shutil.which("sqlite3") is None:
        pytest.fail("the sqlite3 CLI is missing; scripts/interop.sh installs Debian's sqlite3 package", pytrace=False)
    with FetchTarget() as target:
        hub = start_extra_server(
            "hub-two-users",
            ["--env", f"GATEHOUSE_SECRET_KEY={new_secret_key()}", "--env", "GATEHOUSE_FETCH_ALLOW_PRIVATE=true"],
        )
        try:
            _two_users_scenario(hub, target, tmp_path)
        finally:
            hub.stop(check=is_running(hub))


def _two_users_scenario(hub: GatehouseServer, target: FetchTarget, tmp_path: Path) -> None:
    hub.add_user(ALICE, "Alice", ALICE_PASSWORD)
    hub.add_user(BOB, "Bob", BOB_PASSWORD)
    alice = SdkUser(hub, tmp_path / "alice-oauth.json", ALICE, ALICE_PASSWORD, mode="auto")
    bob = SdkUser(hub, tmp_path / "bob-oauth.json", BOB, BOB_PASSWORD, mode="legacy")
    bob_config = {"allowed_hosts": [target.host_port], "authorization": f"Bearer {BOB_SECRET}"}
    bob_config_shown = {"allowed_hosts": [target.host_port], "authorization": REDACTED}
    bob_listing = {"tools": [{"tool_name": "http_fetch", "config": bob_config_shown, "tools": ["http_fetch"]}]}

    # ---- Alice: notes in her notebook "Alice's".
    async def alice_first(client: Client) -> dict[str, Any]:
        assert await sdk_tool_names(client) == BASE_TOOLS
        added = await sdk_ok(client, "add_tool", {"tool_name": "notes", "config": {"notebook": "Alice's"}})
        assert added.structured_content == {"tool_name": "notes", "tools": ["notes_add", "notes_list"]}
        listing = (await client.list_tools(cache_mode="refresh")).tools
        assert sorted(tool.name for tool in listing) == tools_of("notes")
        assert "Alice's" in next(tool.description for tool in listing if tool.name == "notes_add")
        noted = await sdk_ok(client, "notes_add", {"text": ALICE_NOTE})
        assert isinstance(noted.structured_content["id"], int)
        listed = await sdk_ok(client, "notes_list", {})
        assert listed.structured_content == {"notes": [{"id": noted.structured_content["id"], "text": ALICE_NOTE}]}
        return (await sdk_ok(client, "whoami")).structured_content

    alice_whoami = alice.run(alice_first)
    assert alice.browser.pages_seen == 1 and alice_whoami["email"] == ALICE

    # ---- Bob: http_fetch with his secret Authorization header.
    async def bob_first(client: Client) -> dict[str, Any]:
        assert await sdk_tool_names(client) == BASE_TOOLS
        added = await sdk_ok(client, "add_tool", {"tool_name": "http_fetch", "config": bob_config})
        assert added.structured_content == {"tool_name": "http_fetch", "tools": ["http_fetch"]}
        assert await sdk_tool_names(client) == tools_of("http_fetch")
        fetched = await sdk_ok(client, "http_fetch", {"url": target.url("/for-bob")})
        assert fetched.structured_content == {"status": 200, "body": FetchTarget.BODY}
        mine = await sdk_ok(client, "list_my_tools")
        assert mine.structured_content == bob_listing
        assert BOB_SECRET not in json.dumps(mine.model_dump(mode="json"))
        await sdk_unknown_tool(client, "notes_add", {"text": "bob writes into a notebook he does not have"})
        return (await sdk_ok(client, "whoami")).structured_content

    bob_whoami = bob.run(bob_first)
    assert bob.browser.pages_seen == 1 and bob_whoami["email"] == BOB
    assert target.requests == [("/for-bob", f"Bearer {BOB_SECRET}")]

    # ---- Alice cannot see or call Bob's tool; the attempt changes nothing.
    before = hub_dump(hub)

    async def alice_tries_bobs_tool(client: Client) -> None:
        assert await sdk_tool_names(client) == tools_of("notes")
        await sdk_unknown_tool(client, "http_fetch", {"url": target.url("/from-alice")})

    alice.run(alice_tries_bobs_tool)
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        RawUser(hub, alice.storage.access_token, http, "alice").unknown_tool("http_fetch", {"url": target.url("/from-alice")})
    assert target.requests == [("/for-bob", f"Bearer {BOB_SECRET}")], "Alice's call reached the target"
    assert hub_dump(hub) == before

    # ---- The rows: one user each, provisioned from the token's claims; the secret sealed.
    users = {
        row[0]: row for row in hub.query("SELECT email, issuer, subject, oauth_provider, created_at, last_seen_at, id FROM users")
    }
    assert set(users) == {ALICE, BOB}, users
    for email, whoami in ((ALICE, alice_whoami), (BOB, bob_whoami)):
        _, issuer, subject, provider, created_at, last_seen_at, _ = users[email]
        assert (issuer, subject, provider) == ("embedded", whoami["subject"], "embedded"), users[email]
        assert UTC_TEXT.match(created_at) and UTC_TEXT.match(last_seen_at) and last_seen_at >= created_at, users[email]
    stored = {
        (email, tool): json.loads(config)
        for email, tool, config in hub.query(
            "SELECT u.email, t.tool_name, t.config FROM user_tools t JOIN users u ON u.id = t.user_id"
        )
    }
    assert set(stored) == {(ALICE, "notes"), (BOB, "http_fetch")}, stored
    assert stored[(ALICE, "notes")] == {"notebook": "Alice's"}
    bob_stored = stored[(BOB, "http_fetch")]
    assert bob_stored["allowed_hosts"] == [target.host_port] and set(bob_stored) == {"allowed_hosts", "authorization"}
    assert set(bob_stored["authorization"]) == {"$sealed"} and SEALED.match(bob_stored["authorization"]["$sealed"]), bob_stored
    assert hub.query("SELECT u.email, n.text FROM user_notes n JOIN users u ON u.id = n.user_id") == [(ALICE, ALICE_NOTE)]
    _assert_secret_not_at_rest(hub)

    # ---- Restart on the same port and database: the stored tokens still work (same issuer).
    hub.halt()
    _assert_secret_not_at_rest(hub)
    hub.restart()
    assert hub_dump(hub) == before

    async def alice_after_restart(client: Client) -> None:
        listing = (await client.list_tools(cache_mode="refresh")).tools
        assert sorted(tool.name for tool in listing) == tools_of("notes")
        assert "Alice's" in next(tool.description for tool in listing if tool.name == "notes_add")
        listed = await sdk_ok(client, "notes_list", {})
        assert [note["text"] for note in listed.structured_content["notes"]] == [ALICE_NOTE]
        mine = await sdk_ok(client, "list_my_tools")
        assert mine.structured_content == {
            "tools": [{"tool_name": "notes", "config": {"notebook": "Alice's"}, "tools": ["notes_add", "notes_list"]}]
        }
        await sdk_unknown_tool(client, "http_fetch", {"url": target.url("/from-alice")})

    alice.run(alice_after_restart)

    async def bob_after_restart(client: Client) -> None:
        assert await sdk_tool_names(client) == tools_of("http_fetch")
        # The sealed secret is opened again by the new process (same GATEHOUSE_SECRET_KEY).
        fetched = await sdk_ok(client, "http_fetch", {"url": target.url("/for-bob-again")})
        assert fetched.structured_content == {"status": 200, "body": FetchTarget.BODY}
        mine = await sdk_ok(client, "list_my_tools")
        assert mine.structured_content == bob_listing

    bob.run(bob_after_restart)
    assert alice.browser.pages_seen == 0 and bob.browser.pages_seen == 0, "a client had to sign in again after the restart"
    assert target.requests[-1] == ("/for-bob-again", f"Bearer {BOB_SECRET}")
    assert len(target.requests) == 2
    _assert_secret_not_at_rest(hub)

    # ---- What an operator sees: the sqlite3 CLI (psql for a cluster) and `gatehouse users list`.
    shown = operator_sql(hub, "SELECT email, oauth_provider, created_at FROM users ORDER BY email")
    rows = [line.split("|") for line in shown.splitlines()]
    assert [row[:2] for row in rows] == [[ALICE, "embedded"], [BOB, "embedded"]], shown
    assert all(UTC_TEXT.match(row[2]) for row in rows), shown

    listed = gatehouse_cli(hub, "users", "list", *hub.store_args, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["EMAIL", "PROVIDER", "CREATED", "(UTC)", "LAST", "SEEN", "(UTC)", "TOOLS"], listed.stdout
    table = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(table) == {ALICE, BOB}, listed.stdout
    assert table[ALICE][1] == "embedded" and table[ALICE][-1] == "notes", listed.stdout
    assert table[BOB][1] == "embedded" and table[BOB][-1] == "http_fetch", listed.stdout
    assert BOB_SECRET not in listed.stdout
    # The server's output (debug level) never shows the secret either.
    assert BOB_SECRET not in hub.log_text()
    assert all(BOB_SECRET not in path.read_text(errors="replace")
               for server in instances_of(hub) for path in server.log_path.parent.glob("server.log*"))


def _assert_secret_not_at_rest(hub: GatehouseServer) -> None:
    files = database_files(hub)
    if cluster_mode():
        assert any(name.startswith("base/") for name in files) and any(name.startswith("pg_wal/") for name in files), sorted(files)
    else:
        assert hub.database_path.name in files, files.keys()
    for name, data in files.items():
        assert BOB_SECRET.encode() not in data, f"Bob's secret is in {name} in clear"
        assert f"Bearer {BOB_SECRET}".encode("utf-16-le") not in data, f"Bob's secret is in {name} (UTF-16)"


# ======================================================================================
# 2. Refusals: a clear MCP error, and no row changes
# ======================================================================================


@pytest.fixture(scope="module")
def secret_hub():
    """A hub with the embedded authorization server, its sign-in form and a
    GATEHOUSE_SECRET_KEY, shared by the tests below; each adds its own users."""
    hub = start_extra_server("hub-shared", ["--env", f"GATEHOUSE_SECRET_KEY={new_secret_key()}"])
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def module_http():
    with httpx2.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as client:
        yield client


def signed_in_user(hub: GatehouseServer, http: httpx2.Client, email: str, name: str) -> RawUser:
    password = f"{name}'s long password"
    hub.add_user(email, name, password)
    return RawUser(hub, sign_in(hub, email, password), http, name)


@pytest.fixture(scope="module")
def refusal_users(secret_hub: GatehouseServer, module_http: httpx2.Client) -> dict[str, RawUser]:
    """Erin has notes (with one note); Frank has memory (with one key)."""
    erin = signed_in_user(secret_hub, module_http, "erin@example.com", "Erin")
    frank = signed_in_user(secret_hub, module_http, "frank@example.com", "Frank")
    erin.ok("add_tool", {"tool_name": "notes", "config": {"notebook": "Errands"}})
    erin.ok("notes_add", {"text": "call the plumber"})
    frank.ok("add_tool", {"tool_name": "memory", "config": {"max_keys": 10}})
    frank.ok("memory_set", {"key": "door code", "value": "4711"})
    return {"erin": erin, "frank": frank}


# (id, user, tool, arguments, fragments the error message must contain)
REFUSALS = [
    ("wrong-type", "erin", "add_tool", {"tool_name": "memory", "config": {"max_keys": "many"}},
     ["invalid config for memory", "/max_keys", "expected an integer, got string"]),
    ("unknown-property", "erin", "add_tool", {"tool_name": "memory", "config": {"colour": "red"}},
     ["invalid config for memory", "/colour", 'unknown property "colour"']),
    ("missing-required-allowed-hosts", "erin", "add_tool", {"tool_name": "http_fetch", "config": {"max_bytes": 2048}},
     ["invalid config for http_fetch", 'missing required property "allowed_hosts"']),
    ("missing-config-of-http-fetch", "erin", "add_tool", {"tool_name": "http_fetch"},
     ["invalid config for http_fetch", 'missing required property "allowed_hosts"']),
    ("bad-host-item", "erin", "add_tool", {"tool_name": "http_fetch", "config": {"allowed_hosts": ["https://x.example"]}},
     ["invalid config for http_fetch", "/allowed_hosts/0", "pattern"]),
    ("out-of-range-on-configure", "erin", "configure_tool", {"tool_name": "notes", "config": {"max_notes": 0}},
     ["invalid config for notes", "/max_notes", "at least 1"]),
    ("unknown-kind", "erin", "add_tool", {"tool_name": "weather", "config": {}},
     ["there is no tool named weather", "notes, memory, http_fetch"]),
    ("configure-unknown-kind", "erin", "configure_tool", {"tool_name": "weather", "config": {}},
     ["there is no tool named weather"]),
    ("remove-inactive", "erin", "remove_tool", {"tool_name": "memory"},
     ["memory is not on your account"]),
    ("remove-unknown-kind", "erin", "remove_tool", {"tool_name": "weather"},
     ["weather is not on your account"]),
    ("add-already-active", "erin", "add_tool", {"tool_name": "notes", "config": {"notebook": "Another"}},
     ["notes is already on your account", "configure_tool"]),
    ("configure-inactive", "erin", "configure_tool", {"tool_name": "memory", "config": {"max_keys": 5}},
     ["memory is not on your account", "add_tool"]),
    ("configure-inactive-of-other-user", "frank", "configure_tool", {"tool_name": "notes", "config": {"notebook": "Hijack"}},
     ["notes is not on your account"]),
    ("remove-inactive-of-other-user", "frank", "remove_tool", {"tool_name": "notes"},
     ["notes is not on your account"]),
]


@pytest.mark.parametrize(
    "user, tool, arguments, fragments", [case[1:] for case in REFUSALS], ids=[case[0] for case in REFUSALS]
)
def test_refused_request_is_a_tool_error_and_changes_nothing(
    secret_hub: GatehouseServer, refusal_users: dict[str, RawUser], user: str, tool: str, arguments: dict[str, Any],
    fragments: list[str],
) -> None:
    """Invalid configuration (with the JSON pointer of the culprit), an unknown kind, removing
    or configuring a tool that is not on the account (also when another user has it), adding
    one that is: a tool result with isError and a message that says why; no row changes."""
    caller = refusal_users[user]
    tools_before = caller.tool_names()
    before = hub_dump(secret_hub)
    message = caller.tool_error(tool, arguments)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in the error message {message!r}"
    assert hub_dump(secret_hub) == before
    assert caller.tool_names() == tools_before


@pytest.mark.parametrize(
    "user, tool, arguments",
    [
        ("erin", "memory_set", {"key": "door code", "value": "0000"}),
        ("erin", "memory_get", {"key": "door code"}),
        ("erin", "http_fetch", {"url": "https://example.com/"}),
        ("frank", "notes_add", {"text": "frank writes into erin's notebook"}),
        ("frank", "notes_list", {}),
    ],
    ids=["memory_set", "memory_get", "http_fetch-of-nobody", "notes_add", "notes_list"],
)
def test_calling_another_users_tool_is_unknown_tool_and_changes_nothing(
    secret_hub: GatehouseServer, refusal_users: dict[str, RawUser], user: str, tool: str, arguments: dict[str, Any]
) -> None:
    """A tool another user activated is not in the caller's tools/list, and calling it is the
    JSON-RPC error -32602 "Unknown tool", with no effect on anyone's data."""
    caller = refusal_users[user]
    assert tool not in caller.tool_names()
    before = hub_dump(secret_hub)
    caller.unknown_tool(tool, arguments)
    assert hub_dump(secret_hub) == before
    # The owners' data is as it was.
    assert refusal_users["frank"].ok("memory_get", {"key": "door code"})["structuredContent"]["value"] == "4711"
    notes = refusal_users["erin"].ok("notes_list", {})["structuredContent"]["notes"]
    assert [note["text"] for note in notes] == ["call the plumber"]


@pytest.mark.single_instance(
    "the hub runs without GATEHOUSE_SECRET_KEY, and Gatehouse refuses to start on PostgreSQL without one "
    "(every instance must open what another sealed), so no cluster can be built that way")
def test_a_secret_needs_gatehouse_secret_key(tmp_path: Path) -> None:
    """A hub without GATEHOUSE_SECRET_KEY refuses configurations with a secret field, on
    add_tool and on configure_tool, with a message naming the setting; nothing is stored.
    The same tool without the secret is accepted."""
    hub = start_extra_server("hub-no-secret-key", ["--dev-auto-approve"])
    try:
        with httpx2.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as http:
            oauth = EmbeddedAS(hub, http)
            user = RawUser(hub, oauth.login(oauth.new_client(client_name="interop no secret key"))["access_token"], http, "dev")
            assert user.tool_names() == BASE_TOOLS  # provisions the user
            secret_config = {"allowed_hosts": ["api.example.com"], "authorization": "Bearer never-stored"}

            before = hub_dump(hub)
            message = user.tool_error("add_tool", {"tool_name": "http_fetch", "config": secret_config})
            assert "authorization is a secret" in message and "GATEHOUSE_SECRET_KEY" in message, message
            assert hub_dump(hub) == before
            assert user.tool_names() == BASE_TOOLS

            user.ok("add_tool", {"tool_name": "http_fetch", "config": {"allowed_hosts": ["api.example.com"]}})
            assert user.tool_names() == tools_of("http_fetch")
            before = hub_dump(hub)
            message = user.tool_error("configure_tool", {"tool_name": "http_fetch", "config": secret_config})
            assert "authorization is a secret" in message and "GATEHOUSE_SECRET_KEY" in message, message
            assert hub_dump(hub) == before
            mine = user.ok("list_my_tools")["structuredContent"]
            assert mine["tools"] == [
                {"tool_name": "http_fetch", "config": {"allowed_hosts": ["api.example.com"]}, "tools": ["http_fetch"]}
            ]
            assert all(b"never-stored" not in data for data in database_files(hub).values())
    finally:
        hub.stop()


def test_full_notebook_and_memory_are_tool_errors_and_change_nothing(
    secret_hub: GatehouseServer, module_http: httpx2.Client
) -> None:
    """max_notes and max_keys: a write past the limit is a tool error that says so and stores
    nothing; replacing an existing key is not a new key; raising the limit with configure_tool
    makes room."""
    kim = signed_in_user(secret_hub, module_http, "kim@example.com", "Kim")
    kim.ok("add_tool", {"tool_name": "notes", "config": {"max_notes": 2}})
    kim.ok("add_tool", {"tool_name": "memory", "config": {"max_keys": 1}})
    kim.ok("notes_add", {"text": "one"})
    kim.ok("notes_add", {"text": "two"})
    kim.ok("memory_set", {"key": "only", "value": "first"})

    before = hub_dump(secret_hub)
    message = kim.tool_error("notes_add", {"text": "three"})
    assert "your notebook is full (2 notes)" in message and "max_notes" in message, message
    message = kim.tool_error("memory_set", {"key": "second", "value": "x"})
    assert "your memory is full (1 keys)" in message and "max_keys" in message, message
    assert hub_dump(secret_hub) == before

    kim.ok("memory_set", {"key": "only", "value": "replaced"})
    assert kim.ok("memory_get", {"key": "only"})["structuredContent"]["value"] == "replaced"
    kim.ok("configure_tool", {"tool_name": "notes", "config": {"max_notes": 3}})
    kim.ok("notes_add", {"text": "three"})
    assert [n["text"] for n in kim.ok("notes_list")["structuredContent"]["notes"]] == ["three", "two", "one"]


def test_concurrent_add_tool_activates_a_tool_once(secret_hub: GatehouseServer, module_http: httpx2.Client) -> None:
    """Twelve add_tool memory calls of one user at once, each with its own configuration:
    exactly one succeeds, the others say the tool is already on the account, and the one row
    stored holds the winner's configuration."""
    judy = signed_in_user(secret_hub, module_http, "judy@example.com", "Judy")
    configs = [{"max_keys": 10 + index} for index in range(12)]
    barrier = threading.Barrier(len(configs))

    def add(config: dict[str, Any]) -> dict[str, Any]:
        with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
            user = RawUser(secret_hub, judy.token, http, "judy")
            barrier.wait(timeout=10)
            return user.call("add_tool", {"tool_name": "memory", "config": config})

    results: list[dict[str, Any]] = [{}] * len(configs)

    def run(index: int) -> None:
        results[index] = add(configs[index])

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(configs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    winners = [index for index, body in enumerate(results) if body.get("result", {}).get("isError") is False]
    losers = [body for body in results if body.get("result", {}).get("isError") is True]
    assert len(winners) == 1 and len(losers) == len(configs) - 1, results
    for body in losers:
        assert "memory is already on your account" in body["result"]["content"][0]["text"], body
    rows = secret_hub.query(
        "SELECT t.config FROM user_tools t JOIN users u ON u.id = t.user_id WHERE u.email = 'judy@example.com'"
    )
    assert [json.loads(config) for (config,) in rows] == [configs[winners[0]]]
    assert judy.tool_names() == tools_of("memory")


# ======================================================================================
# 3. kill -9 in the middle of a burst of writes
# ======================================================================================

CRASH_USERS = 8
# Seconds from the start of each burst to the SIGKILL; every round runs on the database the
# previous crash left behind.
CRASH_DELAYS_S = (0.25, 0.7, 1.3)
# The kill waits (past its delay if need be, on a slow machine) until at least this many writes
# of the round were acknowledged, so every round proves something.
MIN_ACKED_PER_ROUND = 20


def empty_state() -> dict[str, Any]:
    return {"tools": {}, "notes": [], "memory": {}}


def apply(state: dict[str, Any], op: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """What a successful tool call does to one user's data, as the hub documents it."""
    name, arguments = op
    state = copy.deepcopy(state)
    if name == "add_tool":
        assert arguments["tool_name"] not in state["tools"]
        state["tools"][arguments["tool_name"]] = arguments["config"]
    elif name == "configure_tool":
        state["tools"][arguments["tool_name"]] = arguments["config"]
    elif name == "remove_tool":
        del state["tools"][arguments["tool_name"]]
        if arguments["tool_name"] == "notes":
            state["notes"] = []
        if arguments["tool_name"] == "memory":
            state["memory"] = {}
    elif name == "notes_add":
        state["notes"].append(arguments["text"])
    elif name == "memory_set":
        state["memory"][arguments["key"]] = arguments["value"]
    else:
        raise AssertionError(f"no model for {name}")
    return state


class BurstUser:
    """One static-token user issuing writes one after the other: at any moment at most one
    request is unanswered, so after a crash the database must hold exactly the state after
    the acknowledged writes, or that plus the one in flight."""

    def __init__(self, token: str, subject: str) -> None:
        self.token, self.subject = token, subject
        self.state = empty_state()  # after every acknowledged write
        self.in_flight: tuple[str, dict[str, Any]] | None = None
        self.sequence = 0
        self.rng = random.Random(subject)
        self.acked: list[tuple[str, dict[str, Any]]] = []
        self.round_start = 0  # index in `acked` of the current round's first write
        self.failure: str | None = None

    def next_op(self) -> tuple[str, dict[str, Any]]:
        self.sequence += 1
        n, active = self.sequence, self.state["tools"]
        choices: list[tuple[str, str]] = []
        for kind in KIND_TOOLS:
            choices += [("remove_tool", kind), ("configure_tool", kind)] if kind in active else [("add_tool", kind)] * 3
        if "notes" in active:
            choices += [("notes_add", "notes")] * 4
        if "memory" in active:
            choices += [("memory_set", "memory")] * 4
        name, kind = self.rng.choice(choices)
        configs = {
            "notes": {"notebook": f"{self.subject} book {n}", "max_notes": 10000},
            "memory": {"max_keys": 100 + n % 50},
            "http_fetch": {"allowed_hosts": [f"api{n}.example.com", "example.org:8443"], "max_bytes": 4096},
        }
        if name in ("add_tool", "configure_tool"):
            return name, {"tool_name": kind, "config": configs[kind]}
        if name == "remove_tool":
            return name, {"tool_name": kind}
        if name == "notes_add":
            return name, {"text": f"{self.subject} note {n}"}
        return name, {"key": f"key {n % 7}", "value": f"{self.subject} value {n}"}


async def _burst(hub: GatehouseServer, users: list[BurstUser], delay: float) -> float:
    """Every user writes as fast as the hub answers; the hub gets SIGKILL after `delay` s (and
    MIN_ACKED_PER_ROUND acknowledged writes). Returns the monotonic time of the kill."""
    killed_at: list[float] = []
    processes = [server.process for server in instances_of(hub)]
    assert all(process is not None for process in processes)
    for user in users:
        user.round_start = len(user.acked)

    async def kill() -> None:
        await asyncio.sleep(delay)
        while sum(len(user.acked) - user.round_start for user in users) < MIN_ACKED_PER_ROUND:
            if all(user.failure for user in users):
                return
            await asyncio.sleep(0.005)
        killed_at.append(time.monotonic())
        for process in processes:  # every instance of a cluster
            process.kill()

    async def write(http: httpx2.AsyncClient, user: BurstUser) -> None:
        while True:
            op = user.next_op()
            user.in_flight = op
            name, arguments = op
            try:
                response = await http.post(
                    hub.mcp_url, json=rpc_body("tools/call", {"name": name, "arguments": arguments}),
                    headers=rpc_headers(user.token, "tools/call", name),
                )
                body = response.json() if response.status_code == 200 else None
            except (httpx2.HTTPError, ValueError) as error:
                if not killed_at:
                    user.failure = f"{name}({arguments}) failed before the kill: {error!r}"
                return  # the hub is gone; `op` stays in flight
            if response.status_code == 502 and killed_at and cluster_mode():
                return  # nginx's answer for a request its instance died on, or that found them all dead
            result = body.get("result") if isinstance(body, dict) else None
            if result is None or result.get("isError") is True:
                user.failure = f"{name}({arguments}) was refused: HTTP {response.status_code} {response.text[:300]}"
                user.in_flight = None
                return
            user.state = apply(user.state, op)
            user.acked.append(op)
            user.in_flight = None

    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT_S, limits=httpx2.Limits(max_connections=CRASH_USERS * 2)) as http:
        killer = asyncio.create_task(kill())
        try:
            await asyncio.wait_for(asyncio.gather(*(write(http, user) for user in users)), delay + 10.0)
        finally:
            killer.cancel()
    assert killed_at, f"the burst ended before the kill: {[user.failure for user in users]}"
    return killed_at[0]


def _state_in_database(query: Callable[[str, tuple], list[tuple]], subject: str) -> dict[str, Any]:
    rows = query("SELECT id FROM users WHERE subject = ?", (subject,))
    if not rows:
        return empty_state()
    user_id = rows[0][0]
    return {
        "tools": {
            name: json.loads(config)
            for name, config in query("SELECT tool_name, config FROM user_tools WHERE user_id = ?", (user_id,))
        },
        "notes": [text for (text,) in query("SELECT text FROM user_notes WHERE user_id = ? ORDER BY id", (user_id,))],
        "memory": dict(query("SELECT key, value FROM user_memory WHERE user_id = ?", (user_id,))),
    }


def _check_after_crash(hub: GatehouseServer, users: list[BurstUser], delay: float) -> None:
    """The database after the crash: on SQLite the file itself must be intact (integrity_check,
    foreign_key_check); a cluster's PostgreSQL never crashed (only the instances did), so its rows
    are read as they are. Then every user's data is checked."""
    if cluster_mode():
        _check_users_after_crash(hub.query, users, delay)
        return
    connection = sqlite3.connect(str(hub.database_path), timeout=5.0)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        _check_users_after_crash(lambda sql, parameters=(): connection.execute(sql, parameters).fetchall(), users, delay)
    finally:
        connection.close()


def _check_users_after_crash(query: Callable[[str, tuple], list[tuple]], users: list[BurstUser], delay: float) -> None:
    for user in users:
        found = _state_in_database(query, user.subject)
        allowed = [user.state] + ([apply(user.state, user.in_flight)] if user.in_flight is not None else [])
        assert found in allowed, (
            f"after kill -9 at {delay} s, {user.subject}'s data is neither the state after its "
            f"{len(user.acked)} acknowledged writes nor that plus the write in flight {user.in_flight}.\n"
            f"expected: {json.dumps(allowed, indent=1)}\nfound: {json.dumps(found, indent=1)}\n"
            f"last acknowledged writes: {user.acked[-5:]}"
        )
        # Every add_tool acknowledged in this round that no later remove_tool undid is there.
        this_round = user.acked[user.round_start :]
        for index, (name, arguments) in enumerate(this_round):
            kind = arguments.get("tool_name")
            if name == "add_tool" and not any(
                later == "remove_tool" and args["tool_name"] == kind for later, args in this_round[index + 1 :]
            ) and user.in_flight != ("remove_tool", {"tool_name": kind}):
                assert kind in found["tools"], f"acknowledged add_tool {kind} of {user.subject} was lost"
        user.state = found  # the next round starts from what survived
        user.in_flight = None


def _check_serving(hub: GatehouseServer, users: list[BurstUser]) -> None:
    """The restarted hub serves every user the tools and configurations that survived."""
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        for user in users:
            raw = RawUser(hub, user.token, http, user.subject)
            assert raw.tool_names() == tools_of(*user.state["tools"]), user.state
            mine = raw.ok("list_my_tools")["structuredContent"]["tools"]
            assert {item["tool_name"]: item["config"] for item in mine} == user.state["tools"]
            if "notes" in user.state["tools"]:
                listed = raw.ok("notes_list", {"limit": 100})["structuredContent"]["notes"]
                assert [note["text"] for note in reversed(listed)] == user.state["notes"][-100:]


def test_kill_9_during_a_burst_of_writes_loses_no_acknowledged_write() -> None:
    """Eight users (static tokens, so no sign-in is needed) each send add_tool, configure_tool,
    remove_tool, notes_add and memory_set back to back, concurrently, over raw HTTP; the hub
    gets SIGKILL mid-burst, three times at different moments, each time on the database the
    previous crash left. After every crash: PRAGMA integrity_check is ok, no foreign key
    dangles, every user's data is exactly the state after its acknowledged writes (or that
    plus the one write in flight, never half of one: remove_tool deletes the tool and its
    data together), and the hub restarts on the database and serves what survived. A cluster's
    instances are all killed at once (PostgreSQL itself keeps running), then all restarted."""
    users = [BurstUser(f"burst-token-{i}-{os.urandom(6).hex()}", f"burst-user-{i}") for i in range(CRASH_USERS)]
    tokens = ";".join(f"{user.token}:burst-client:{user.subject}" for user in users)
    hub = start_extra_server("hub-crash", ["--provider", "static", "--env", f"MCP_STATIC_TOKENS={tokens}"])
    started = time.monotonic()
    try:
        for round_number, delay in enumerate(CRASH_DELAYS_S):
            if round_number:
                hub.restart()
                _check_serving(hub, users)
            acked_before = sum(len(user.acked) for user in users)
            asyncio.run(_burst(hub, users, delay))
            hub.crash()
            assert all(server.process is not None and server.process.returncode == -9 for server in instances_of(hub))
            failures = [user.failure for user in users if user.failure]
            assert not failures, failures
            acked = sum(len(user.acked) for user in users) - acked_before
            assert acked >= MIN_ACKED_PER_ROUND, f"only {acked} writes were acknowledged before the kill"
            assert any(user.in_flight for user in users), "no write was in flight at the kill"
            _check_after_crash(hub, users, delay)
        hub.restart()
        _check_serving(hub, users)
        assert sum(1 for user in users for name, _ in user.acked if name == "add_tool") > 0
    finally:
        hub.stop(check=is_running(hub))
    assert time.monotonic() - started < 20.0


# ======================================================================================
# 4. gatehouse db backup / db migrate next to a running hub
# ======================================================================================


@pytest.mark.single_instance(
    "`gatehouse db backup` is SQLite's online backup of the database file, and the copy is opened with sqlite3; "
    "a PostgreSQL store is backed up with PostgreSQL's own tools")
def test_online_backup_while_the_hub_writes(secret_hub: GatehouseServer, module_http: httpx2.Client, tmp_path: Path) -> None:
    """`gatehouse db backup` while the hub runs and a user keeps writing notes: exit 0, the copy
    passes integrity_check, holds every user and every note acknowledged before the backup
    started, and has both migrations; `gatehouse db migrate` prints them for the copy, the live
    database and a new one; a backup never overwrites an existing file."""
    live = secret_hub.database_path
    writer = signed_in_user(secret_hub, module_http, "grace@example.com", "Grace")
    writer.ok("add_tool", {"tool_name": "notes", "config": {"notebook": "Busy"}})
    acked: list[tuple[int, str]] = []
    stop = threading.Event()
    errors: list[str] = []

    def keep_writing() -> None:
        with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
            thread_user = RawUser(secret_hub, writer.token, http, "grace")
            number = 0
            while not stop.is_set():
                number += 1
                text = f"busy note {number}"
                try:
                    note_id = thread_user.ok("notes_add", {"text": text})["structuredContent"]["id"]
                except AssertionError as error:
                    errors.append(str(error))
                    return
                acked.append((note_id, text))

    thread = threading.Thread(target=keep_writing, name="note-writer", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while len(acked) < 10 and time.monotonic() < deadline and not errors:
            time.sleep(0.01)
        assert len(acked) >= 10, errors or "the writer made no progress"
        acked_before_backup = list(acked)
        users_before_backup = {row[0] for row in secret_hub.query("SELECT email FROM users")}
        backup = tmp_path / "copies" / "hub-backup.db"
        backup.parent.mkdir()
        done = gatehouse_cli(secret_hub, "db", "backup", str(backup), "--database-path", str(live), cwd=tmp_path)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not errors, errors
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip() == f"backed up {live} to {backup}", done.stdout

    copy_db = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        assert copy_db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert copy_db.execute("PRAGMA foreign_key_check").fetchall() == []
        emails = {row[0] for row in copy_db.execute("SELECT email FROM users")}
        assert users_before_backup <= emails and "grace@example.com" in emails, (users_before_backup, emails)
        assert {row[0] for row in copy_db.execute("SELECT oauth_provider FROM users")} == {"embedded"}
        notes = set(copy_db.execute(
            "SELECT n.id, n.text FROM user_notes n JOIN users u ON u.id = n.user_id WHERE u.email = 'grace@example.com'"
        ).fetchall())
        assert set(acked_before_backup) <= notes, sorted(set(acked_before_backup) - notes)
        assert notes <= set(acked), sorted(notes - set(acked))  # every note in it was acknowledged (after the backup)
        migrations = [row[0] for row in copy_db.execute("SELECT identifier FROM grdb_migrations ORDER BY rowid")]
        assert migrations == MIGRATIONS.split(", ")
    finally:
        copy_db.close()
    # The hub kept serving during the backup.
    assert writer.ok("notes_list", {"limit": 1})["structuredContent"]["notes"][0]["text"].startswith("busy note")

    listed = gatehouse_cli(secret_hub, "users", "list", "--database-path", str(backup), cwd=tmp_path)
    assert listed.returncode == 0 and "grace@example.com" in listed.stdout, listed.stdout + listed.stderr

    for database in (backup, live, tmp_path / "fresh" / "new.db"):
        migrated = gatehouse_cli(secret_hub, "db", "migrate", "--database-path", str(database), cwd=tmp_path)
        assert migrated.returncode == 0, migrated.stderr
        assert migrated.stdout.strip() == f"{database}: schema {MIGRATIONS}", migrated.stdout

    # A second backup to the same path is refused and leaves the first copy alone.
    first_copy = backup.read_bytes()
    again = gatehouse_cli(secret_hub, "db", "backup", str(backup), "--database-path", str(live), cwd=tmp_path)
    assert again.returncode != 0 and "exists" in again.stderr, (again.returncode, again.stdout, again.stderr)
    assert backup.read_bytes() == first_copy


# ======================================================================================
# 5. Per-user data
# ======================================================================================


def test_users_data_is_isolated(secret_hub: GatehouseServer, module_http: httpx2.Client) -> None:
    """Heidi and Ivan both activate memory and notes and use the same key: each reads their own
    value, lists only their own keys and notes; Heidi removing memory deletes her data only."""
    heidi = signed_in_user(secret_hub, module_http, "heidi@example.com", "Heidi")
    ivan = signed_in_user(secret_hub, module_http, "ivan@example.com", "Ivan")
    for user in (heidi, ivan):
        user.ok("add_tool", {"tool_name": "memory"})
        user.ok("add_tool", {"tool_name": "notes"})
        assert user.tool_names() == tools_of("memory", "notes")
    heidi.ok("memory_set", {"key": "favourite colour", "value": "green"})
    ivan.ok("memory_set", {"key": "favourite colour", "value": "purple"})
    heidi.ok("memory_set", {"key": "heidi only", "value": "h"})
    heidi.ok("notes_add", {"text": "heidi's note"})
    ivan.ok("notes_add", {"text": "ivan's note"})

    colour = {"key": "favourite colour"}
    assert heidi.ok("memory_get", colour)["structuredContent"] == {**colour, "value": "green"}
    assert ivan.ok("memory_get", colour)["structuredContent"] == {**colour, "value": "purple"}
    assert heidi.ok("memory_keys")["structuredContent"] == {"keys": ["favourite colour", "heidi only"]}
    assert ivan.ok("memory_keys")["structuredContent"] == {"keys": ["favourite colour"]}
    assert "nothing is stored under heidi only" in ivan.tool_error("memory_get", {"key": "heidi only"})
    assert [n["text"] for n in heidi.ok("notes_list")["structuredContent"]["notes"]] == ["heidi's note"]
    assert [n["text"] for n in ivan.ok("notes_list")["structuredContent"]["notes"]] == ["ivan's note"]
    rows = secret_hub.query(
        "SELECT u.email, m.key, m.value FROM user_memory m JOIN users u ON u.id = m.user_id "
        "WHERE u.email IN ('heidi@example.com', 'ivan@example.com') ORDER BY u.email, m.key"
    )
    assert rows == [
        ("heidi@example.com", "favourite colour", "green"),
        ("heidi@example.com", "heidi only", "h"),
        ("ivan@example.com", "favourite colour", "purple"),
    ]

    # Overwriting one user's key leaves the other's alone.
    ivan.ok("memory_set", {"key": "favourite colour", "value": "orange"})
    assert heidi.ok("memory_get", {"key": "favourite colour"})["structuredContent"]["value"] == "green"

    # Heidi removes memory: her keys go, Ivan's stay; her notes are untouched.
    heidi.ok("remove_tool", {"tool_name": "memory"})
    assert heidi.tool_names() == tools_of("notes")
    heidi.unknown_tool("memory_get", {"key": "favourite colour"})
    assert ivan.ok("memory_get", {"key": "favourite colour"})["structuredContent"]["value"] == "orange"
    assert secret_hub.query(
        "SELECT u.email, m.key FROM user_memory m JOIN users u ON u.id = m.user_id "
        "WHERE u.email IN ('heidi@example.com', 'ivan@example.com')"
    ) == [("ivan@example.com", "favourite colour")]
    assert [n["text"] for n in heidi.ok("notes_list")["structuredContent"]["notes"]] == ["heidi's note"]
    # Adding memory again starts empty.
    heidi.ok("add_tool", {"tool_name": "memory"})
    assert heidi.ok("memory_keys")["structuredContent"] == {"keys": []}


# ======================================================================================
# 6. The same database behind another address
# ======================================================================================


def test_a_user_keeps_their_tools_when_the_hub_moves_to_another_address() -> None:
    """The hub restarted on the same database (--database-path; a cluster: another cluster on
    its --database-url) but another port: old tokens are refused (the issuer changed), the user
    signs in again with the same account and finds the tools and notes they had: embedded users
    are keyed by their id in the store, not by the issuer URL."""
    first = start_extra_server("hub-address-a", [])
    second: GatehouseServer | None = None
    try:
        first.add_user("leo@example.com", "Leo", "leo's long password")
        with httpx2.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as http:
            leo = RawUser(first, sign_in(first, "leo@example.com", "leo's long password"), http, "leo")
            leo.ok("add_tool", {"tool_name": "notes", "config": {"notebook": "Travel"}})
            leo.ok("notes_add", {"text": "pack the charger"})
            first.halt()
            second = start_extra_server("hub-address-b", first.store_args, env=first.store_env)
            stale = http.post(second.mcp_url, json=rpc_body("tools/list", {}), headers=rpc_headers(leo.token, "tools/list"))
            assert stale.status_code == 401  # the old token names the old issuer
            leo = RawUser(second, sign_in(second, "leo@example.com", "leo's long password"), http, "leo")
            assert leo.ok("whoami")["structuredContent"]["email"] == "leo@example.com"
            assert leo.tool_names() == tools_of("notes"), second.query("SELECT id, issuer, subject, email FROM users")
            assert [n["text"] for n in leo.ok("notes_list")["structuredContent"]["notes"]] == ["pack the charger"]
            assert second.query("SELECT count(*) FROM users WHERE email = 'leo@example.com'") == [(1,)]
    finally:
        if second is not None:
            second.stop()
        first.stop(check=False)
