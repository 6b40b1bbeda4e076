"""Several Gatehouse instances on one PostgreSQL store behind a round-robin balancer, no sticky
sessions: whichever instance a request lands on, the outcome is the one a single hub gives.

The module's cluster (peers/cluster.py): a throwaway PostgreSQL (peers/postgres.py), three
`gatehouse hub` instances on it (the embedded authorization server, its sign-in page, users made
with `gatehouse idp add-user --database-url`), the same GATEHOUSE_SECRET_KEY in each one's
environment and `--base-url` naming nginx (peers/round_robin.py), which spreads every request
round robin. Each test reads nginx's access log to show that its traffic really was served by
several instances, then checks the outcome:

  test_instances_started_together_on_an_empty_database
      every instance of a deployment started at once on a new database comes up (the migrations
      take turns under an advisory lock)
  test_sdk_signs_in_and_calls_tools_through_the_balancer
      the official Python SDK (both modes) discovers, registers and signs in through the page,
      whose GET and POST land on different instances; tools answer as the user; a legacy
      session opened on one instance is served by the others and its DELETE ends it on all
  test_concurrent_refreshes_on_several_instances_end_with_one_successor
      20 simultaneous refreshes of one refresh token, spread over the instances: all get the
      same successor, the family holds exactly one live token in PostgreSQL, and it works
  test_a_users_tool_changes_reach_every_instance_at_once
      add_tool / configure_tool / remove_tool served by one instance show on every other within
      0.5 s (LISTEN/NOTIFY; the tools cache alone would serve the old list for 5 s); a stale
      answer on the way (the notification not yet processed) is reported as a warning; another
      user never sees them; notes written through every instance are read back whole through each
  test_upstream_login_completes_across_instances
      a pair of instances whose people sign in at an OpenID provider (oidc-provider-mock):
      consent page, consent POST, the provider's callback and the code redemption each land
      on another instance, and the login completes
  test_rate_limits_are_shared_by_the_instances
      a per-user limit of 9 an hour on two instances serves 9 requests in all, spread over both,
      then 429 from either; another user is unaffected
  test_password_guessing_is_throttled_across_instances
      wrong passwords for one account spread over the three instances: six are checked, the
      seventh is refused (429) wherever it lands
  test_clients_carry_on_when_an_instance_is_killed
      (runs last: it kills an instance of the module's cluster) SIGKILL of one instance while a
      writer adds notes and two SDK clients (stateless and a legacy session) are connected:
      every later request succeeds through the two others, and no acknowledged note is lost
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import re
import threading
import time
import warnings
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from conftest import GatehouseServer
from mcp_wire import ACCEPT_BOTH, HUB_TOOLS, LATEST_HANDSHAKE, run
from peers.cluster import LOG_QUIET_S, Cluster, Served, balanced_hubs, start_together
from peers.oidc_upstream import oidc_upstream
from peers.postgres import postgres_server
from test_auth import make_provider as oauth_client_provider
from test_embedded_login import REDIRECT_URI, SDK_MODES, FileTokenStorage, SigningInBrowser, Traffic, call_add, call_whoami, run_sdk
from test_embedded_oauth import Authorization, EmbeddedAS, expect_tokens, query_of
from test_hostile import sign_in_attempt
from test_hub import RawUser, rpc_body, rpc_headers, tools_of
from test_upstream_login import UPSTREAM_CLIENT_ID, UPSTREAM_CLIENT_SECRET, claims, redeem, register, sign_in_without_browser

HTTP_TIMEOUT_S = 10.0
# Bound of one async scenario (SDK sign-ins included).
SCENARIO_TIMEOUT_S = 40.0
INSTANCES = 3
CONCURRENT_REFRESHES = 20
# A tool change must show on every instance within this (a tenth of the hub's 5 s tools cache).
CHANGE_VISIBLE_WITHIN_S = 0.5
# The writer of the kill test: a notes_add, then this pause, at most this many.
WRITER_PAUSE_S = 0.05
WRITER_MAX_NOTES = 60

CAROL, CAROL_PASSWORD = "carol@example.com", "carol's long password"
ANN, ANN_PASSWORD = "ann@example.com", "ann's long password"
BEN, BEN_PASSWORD = "ben@example.com", "ben's long password"
DORA, DORA_PASSWORD = "dora@example.com", "dora's long password"


# ======================================================================================
# The cluster: PostgreSQL, instances, nginx (peers/cluster.py)
# ======================================================================================


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def front() -> Iterator[Cluster]:
    """Three instances on one PostgreSQL database behind nginx, with the users of the tests. The
    first wait after the free failed sign-ins is 5 s, not 1 s, so the guessing test's seventh
    attempt reaches an instance within it even when a debug build checks passwords slowly."""
    with postgres_server() as postgres, balanced_hubs(postgres, "scaling", [f"pg-{i}" for i in range(INSTANCES)],
                                                      ["--env", "GATEHOUSE_SIGN_IN_FIRST_WAIT=5"]) as front:
        for email, password in ((CAROL, CAROL_PASSWORD), (ANN, ANN_PASSWORD), (BEN, BEN_PASSWORD), (DORA, DORA_PASSWORD)):
            front.add_user(email, email.split("@")[0].title(), password)
        yield front


# ======================================================================================
# Clients
# ======================================================================================


def sign_in_with_form(front: Cluster, email: str, password: str, client_name: str) -> tuple[str, dict[str, Any]]:
    """What a browser and a client do with raw HTTP, each step a request through nginx:
    registration, GET /authorize (the page and its cookie), POST of the form, the code
    redeemed with PKCE. Returns the client id and the token response."""
    with httpx2.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as browser:
        oauth = EmbeddedAS(front, browser)  # type: ignore[arg-type]  # duck-typed: base_url, mcp_url
        client = oauth.new_client(client_name=client_name)
        page, verifier = oauth.authorize(client)
        assert page.status_code == 200 and "text/html" in page.headers.get("content-type", ""), page.text[:300]
        hidden = dict(re.findall(r'name="(request_id|csrf_token)" value="([^"]*)"', page.text))
        assert set(hidden) == {"request_id", "csrf_token"}, page.text[:500]
        answer = browser.post(front.base_url + "/authorize",
                              data={**hidden, "email": email, "password": password, "decision": "approve"})
        location = answer.headers.get("location", "")
        assert answer.status_code == 303 and location.startswith(REDIRECT_URI + "?"), (
            f"signing in as {email} failed: HTTP {answer.status_code} {location!r} {answer.text[:300]!r}")
        params = query_of(location)
        assert params["iss"] == front.base_url, params
        tokens = expect_tokens(oauth.redeem(client, Authorization(params["code"], verifier, REDIRECT_URI, params)))
        return client.client_id, tokens


def refresh(front: Cluster, client_id: str, refresh_token: str) -> httpx2.Response:
    return httpx2.post(front.base_url + "/token", timeout=HTTP_TIMEOUT_S,
                       data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id})


@asynccontextmanager
async def sdk_client(front: Cluster, mode: str, storage: FileTokenStorage, browser: SigningInBrowser,
                     traffic: Traffic) -> AsyncIterator[Client]:
    """An mcp.Client (the official SDK) signed in through the balancer, open until the block ends;
    several can be open at once in one event loop (test_auth.with_oauth_client runs just one)."""
    provider = oauth_client_provider(front.mcp_url, storage, browser)
    async with httpx2.AsyncClient(auth=provider, timeout=httpx2.Timeout(HTTP_TIMEOUT_S),
                                  event_hooks={"response": [traffic]}) as http_client:
        async with Client(streamable_http_client(front.mcp_url, http_client=http_client), mode=mode) as client:
            assert client.session.protocol_version == SDK_MODES[mode]
            yield client


def session_ids(traffic: Traffic, url: str) -> set[str]:
    return {headers["mcp-session-id"] for _, u, _, headers, _ in traffic.seen if u == url and "mcp-session-id" in headers}


def legacy_request(front: Cluster, token: str, session_id: str) -> httpx2.Response:
    """tools/call whoami in a 2025-11-25 session, as raw HTTP through nginx."""
    return httpx2.post(
        front.mcp_url, timeout=HTTP_TIMEOUT_S,
        json={"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}},
        headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT_BOTH, "Content-Type": "application/json",
                 "Mcp-Session-Id": session_id, "MCP-Protocol-Version": LATEST_HANDSHAKE})


def ports_of(served: list[Served], method: str | None = None, path: str | None = None) -> list[int | None]:
    return [s.port for s in served if (method is None or s.method == method)
            and (path is None or s.uri.split("?")[0] == path)]


# ======================================================================================
# 0. Instances that start together on an empty database
# ======================================================================================

START_ROUNDS = 8
INSTANCES_PER_ROUND = 5


def test_instances_started_together_on_an_empty_database(front: Cluster) -> None:
    """A deployment starts all its instances at once on a new database: every one must come up
    (the migrations take turns, the later ones find the work done). Several rounds, each on a
    fresh database, since a collision depends on timing (before the fix, creating the migrations
    table outside the migration lock failed about one round in three)."""
    for round_number in range(START_ROUNDS):
        url = front.postgres.create_database(f"together_{round_number}")
        servers = [GatehouseServer(f"together-{round_number}-{i}", ["--database-url", url],
                                   env={"GATEHOUSE_SECRET_KEY": front.secret_key}) for i in range(INSTANCES_PER_ROUND)]
        started: list[GatehouseServer] = []
        try:
            errors = start_together(servers, started)
        finally:
            for server in servers:
                server.stop(check=server in started)
        assert not errors, f"round {round_number}: " + "\n".join(error.splitlines()[0] + "\n" + next(
            (line for line in error.splitlines() if "cannot start" in line), "") for error in errors)
        applied = front.postgres.psql("select count(*) from gatehouse_migrations", database=f"together_{round_number}")
        assert applied == front.psql("select count(*) from gatehouse_migrations"), applied


# ======================================================================================
# 1. The official SDK signs in and calls tools through the balancer
# ======================================================================================


@pytest.mark.parametrize("mode", list(SDK_MODES))
def test_sdk_signs_in_and_calls_tools_through_the_balancer(front: Cluster, tmp_path: Path, mode: str) -> None:
    """MCP authorization with the sign-in page, all through nginx: discovery, registration, the
    page (GET) and the form (POST) on different instances, the code redeemed on a third; then
    tools/list, add and whoami spread over the instances. In legacy mode the session opened
    on one instance is served by the others, and the SDK's DELETE at the end ends it
    everywhere: every instance then answers 404 for it."""
    storage, traffic = FileTokenStorage(tmp_path / "oauth.json"), Traffic()
    browser = SigningInBrowser(CAROL, CAROL_PASSWORD)
    since = front.mark()
    sessions_seen: list[str] = []

    async def body(client: Client) -> list[dict[str, Any]]:
        assert sorted(tool.name for tool in (await client.list_tools()).tools) == HUB_TOOLS
        answers = []
        for _ in range(3):
            await call_add(client)
            answers.append(await call_whoami(client))
        if mode == "legacy":
            ids = session_ids(traffic, front.mcp_url)
            assert len(ids) == 1, ids
            sessions_seen.extend(ids)
            stored = await asyncio.to_thread(front.psql, f"select count(*) from mcp_sessions where id_hash = '{sha256_hex(*ids)}'")
            assert stored == "1", "the session is not in the shared store"
        return answers

    answers = run_sdk(front, mode, oauth_client_provider(front.mcp_url, storage, browser), traffic, body)  # type: ignore[arg-type]

    for whoami in answers:
        assert whoami["email"] == CAROL and whoami["authenticated"] is True, whoami
        assert whoami["issuer"] == front.base_url and whoami["client_id"] == storage.client_id, whoami
    assert browser.pages_seen == 1 and browser.redirects[0]["iss"] == front.base_url
    assert browser.authorization_urls[0].startswith(front.base_url + "/authorize?")

    served = front.served(since, min_new=len(traffic.seen) + 2)
    # The page and the form it posts were served by two different instances (the pending request
    # travels sealed in the page), and every step of the flow succeeded.
    [page_port] = ports_of(served, "GET", "/authorize")
    [form_port] = ports_of(served, "POST", "/authorize")
    assert page_port != form_port and {page_port, form_port} <= front.ports, served
    [token_port] = ports_of(served, "POST", "/token")
    assert token_port not in (page_port, form_port), served
    assert [s.status for s in served if s.uri.split("?")[0] == "/authorize"] == [200, 303], served
    # Every MCP request after the sign-in succeeded (the legacy client's optional GET stream: 405).
    mcp = [s for s in served if s.uri == "/mcp"]
    assert mcp[0].status == 401 and all(s.status in (200, 202, 204) or (s.method, s.status) == ("GET", 405) for s in mcp[1:]), mcp
    posts = [s.port for s in mcp[1:] if s.method == "POST"]
    assert set(posts) == front.ports, f"MCP requests were not spread over all instances: {mcp}"

    if mode == "legacy":
        [session_id] = sessions_seen
        # After the initialize (the first POST answered 200), every POST carried the session id and
        # they were served by every instance: none of them has the session to itself.
        after_initialize = [e for e in traffic.to(front.mcp_url, "POST") if e[2] != 401][1:]
        assert after_initialize and all(e[3].get("mcp-session-id") == session_id for e in after_initialize), traffic.describe()
        assert set(posts[1:]) == front.ports, mcp
        # The SDK ended its session with DELETE (served by one instance): gone from the store, and
        # every instance (three requests, round robin) now answers 404 for it.
        assert [e[2] for e in traffic.to(front.mcp_url, "DELETE")] == [204], traffic.describe()
        assert front.psql(f"select count(*) from mcp_sessions where id_hash = '{sha256_hex(session_id)}'") == "0"
        since = front.mark()
        statuses = [legacy_request(front, storage.access_token, session_id).status_code for _ in range(INSTANCES)]
        assert statuses == [404] * INSTANCES, statuses
        assert set(ports_of(front.served(since, INSTANCES))) == front.ports


# ======================================================================================
# 2. Concurrent refreshes of one token on several instances
# ======================================================================================


def test_concurrent_refreshes_on_several_instances_end_with_one_successor(front: Cluster) -> None:
    """RFC 9700 §4.14.2 rotation with a grace, shared through PostgreSQL: 20 refresh requests of
    the same token at once, spread by nginx over the three instances. The first rotates it under
    the token row's lock; the others, on any instance, get the very same successor (the grace
    re-sends it). The family ends with exactly one live (unrotated) token, is not revoked, and
    the successor refreshes again; the access tokens handed out work on the MCP endpoint."""
    client_id, tokens = sign_in_with_form(front, ANN, ANN_PASSWORD, "scaling refresh")
    original = tokens["refresh_token"]
    family = front.psql(f"select family_id from oauth_refresh_tokens where hash = '{sha256_hex(original)}'")
    assert family, "the refresh token is not in the shared store"

    since = front.mark()
    barrier = threading.Barrier(CONCURRENT_REFRESHES, timeout=HTTP_TIMEOUT_S)

    def one(_: int) -> httpx2.Response:
        barrier.wait()
        return refresh(front, client_id, original)

    with concurrent.futures.ThreadPoolExecutor(CONCURRENT_REFRESHES) as pool:
        responses = list(pool.map(one, range(CONCURRENT_REFRESHES), timeout=30))

    served = front.served(since, CONCURRENT_REFRESHES)
    assert len(served) == CONCURRENT_REFRESHES and all(s.uri == "/token" for s in served), served
    assert set(s.port for s in served) == front.ports, f"the refreshes were not spread over every instance: {served}"

    answers = [(r.status_code, r.json()) for r in responses]
    refused = [body for status, body in answers if status != 200]
    assert all(status == 400 and body.get("error") == "invalid_grant" for status, body in answers if status != 200), answers
    successes = [body for status, body in answers if status == 200]
    successors = {body["refresh_token"] for body in successes}
    assert len(successors) == 1, f"{len(successors)} different successors were issued: {successors}"
    # What Gatehouse answers: within the grace every concurrent request gets the successor.
    assert len(successes) == CONCURRENT_REFRESHES and not refused, answers
    [successor] = successors
    assert successor != original

    live = front.psql(f"select count(*) from oauth_refresh_tokens where family_id = '{family}' and rotated_at is null")
    assert live == "1", f"{live} live refresh tokens in the family"
    assert front.psql(f"select hash from oauth_refresh_tokens where family_id = '{family}' and rotated_at is null") == sha256_hex(successor)
    assert front.psql(f"select count(*) from oauth_refresh_tokens where family_id = '{family}'") == "2"
    assert front.psql(f"select revoked_at is null from oauth_refresh_families where id = '{family}'") == "t"

    # The successor works (on whichever instance), and so do the access tokens handed out.
    following = refresh(front, client_id, successor)
    assert following.status_code == 200, following.text
    assert following.json()["refresh_token"] not in (original, successor)
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        since = front.mark()
        for body in (successes[0], successes[-1], following.json()):
            whoami = RawUser(front, body["access_token"], http, "ann").ok("whoami")  # type: ignore[arg-type]
            assert whoami["structuredContent"]["email"] == ANN, whoami
        assert set(ports_of(front.served(since, 3))) == front.ports


# ======================================================================================
# 3. Per-user tools across instances
# ======================================================================================


def test_a_users_tool_changes_reach_every_instance_at_once(front: Cluster) -> None:
    """Each instance keeps a user's tools in memory for 5 s; a change served by one instance
    reaches the others through PostgreSQL LISTEN/NOTIFY. With Ann's tools cached on all three
    instances, add_tool, configure_tool and remove_tool (each served by one instance; three
    rounds) show on every instance within CHANGE_VISIBLE_WITHIN_S, a tenth of the cache's
    lifetime: tools/list is polled through nginx, starting right after the change on another
    instance, until three answers in a row (one per instance) show it. Any stale answer on the
    way (the notification not yet processed there) is reported as a warning: a client's very next
    request is not guaranteed to see the change, see the report. Ben, on the same instances, never
    sees Ann's tools. Notes Ann adds through all three instances are read back whole through each."""
    stale: list[str] = []

    def converges(user: RawUser, label: str, shows_change: Any) -> None:
        """Polls tools/list until INSTANCES answers in a row satisfy `shows_change`."""
        started, since, streak, requests = time.monotonic(), front.mark(), 0, 0
        while streak < INSTANCES:
            tools = user.rpc("tools/list", {})["result"]["tools"]
            requests += 1
            if shows_change(tools):
                streak += 1
                continue
            streak = 0
            waited = time.monotonic() - started
            stale.append(f"{label}: stale tools/list after {waited * 1000:.1f} ms on {front.served(since, requests)[-1].port}")
            assert waited < CHANGE_VISIBLE_WITHIN_S, f"{label} not visible on every instance after {waited:.2f} s: {stale}"
        served = front.served(since, requests)
        assert set(ports_of(served[-INSTANCES:])) == front.ports, served

    def names(expected: list[str]) -> Any:
        return lambda tools: sorted(tool["name"] for tool in tools) == expected

    def notebook(title: str) -> Any:
        return lambda tools: any(tool["name"] == "notes_add" and f'"{title}"' in tool["description"] for tool in tools)

    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        ann = RawUser(front, sign_in_with_form(front, ANN, ANN_PASSWORD, "scaling ann")[1]["access_token"], http, "ann")  # type: ignore[arg-type]
        ben = RawUser(front, sign_in_with_form(front, BEN, BEN_PASSWORD, "scaling ben")[1]["access_token"], http, "ben")  # type: ignore[arg-type]

        def change(label: str, tool: str, arguments: dict[str, Any], shows_change: Any) -> None:
            since = front.mark()
            ann.ok(tool, arguments)
            [changed_on] = ports_of(front.served(since, 1))
            converges(ann, label, shows_change)
            # The first tools/list after the change was served by another instance.
            assert front.served(since, 2)[1].port != changed_on

        # Every instance has Ann's and Ben's tools in its cache.
        converges(ann, "warm-up", names(tools_of()))
        converges(ben, "warm-up", names(tools_of()))

        for n in range(3):
            change(f"round {n} add_tool", "add_tool", {"tool_name": "notes", "config": {"notebook": f"Round {n}"}},
                   lambda tools, n=n: names(tools_of("notes"))(tools) and notebook(f"Round {n}")(tools))
            converges(ben, f"round {n} Ben", names(tools_of()))
            ben.unknown_tool("notes_add", {"text": "into Ann's notebook"})
            change(f"round {n} configure_tool", "configure_tool", {"tool_name": "notes", "config": {"notebook": f"Renamed {n}"}},
                   notebook(f"Renamed {n}"))
            change(f"round {n} remove_tool", "remove_tool", {"tool_name": "notes"}, names(tools_of()))
            for _ in range(INSTANCES):
                ann.unknown_tool("notes_add", {"text": "into a removed notebook"})

        # Notes through every instance, read back whole through every instance.
        change("final add_tool", "add_tool", {"tool_name": "notes", "config": {"notebook": "Everywhere"}}, names(tools_of("notes")))
        since = front.mark()
        written = []
        for index in range(2 * INSTANCES):
            text = f"note {index}"
            written.append((ann.ok("notes_add", {"text": text})["structuredContent"]["id"], text))
        assert set(ports_of(front.served(since, 2 * INSTANCES))) == front.ports
        since = front.mark()
        for _ in range(INSTANCES):
            notes = ann.ok("notes_list", {"limit": 100})["structuredContent"]["notes"]
            assert [(note["id"], note["text"]) for note in notes] == list(reversed(written)), notes
        assert set(ports_of(front.served(since, INSTANCES))) == front.ports
        assert front.psql(f"select count(*) from user_notes n join users u on u.id = n.user_id where u.email = '{ANN}'") == str(len(written))
        # Ben has no notebook on any instance.
        for _ in range(INSTANCES):
            ben.unknown_tool("notes_list", {})

    if stale:
        warnings.warn("a tool change was not yet visible to the next request on another instance: " + "; ".join(stale),
                      RuntimeWarning, stacklevel=1)


# ======================================================================================
# 4. Upstream login across instances
# ======================================================================================


def test_upstream_login_completes_across_instances(front: Cluster) -> None:
    """Two more instances (their own database) whose people sign in at oidc-provider-mock, behind
    their own nginx. Every step of the browser's trip goes through nginx and alternates between
    the two: the consent page (GET) on one, the consent (POST, which stores the round trip to the
    provider) on the other, the provider's redirect to /auth/callback on the first again, the
    code redemption on the second; the login completes and the token works on both."""
    with oidc_upstream() as upstream, balanced_hubs(
        front.postgres, "scaling_upstream", ["upstream-a", "upstream-b"],
        ["--env", f"GATEHOUSE_UPSTREAM_ISSUER={upstream.issuer}", "--env", f"GATEHOUSE_UPSTREAM_CLIENT_ID={UPSTREAM_CLIENT_ID}",
         "--env", "GATEHOUSE_UPSTREAM_NAME=Mock IdP"],
        env={"GATEHOUSE_UPSTREAM_CLIENT_SECRET": UPSTREAM_CLIENT_SECRET},
    ) as pair, httpx2.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as http:
        since = pair.mark()
        client_id = register(pair, http)  # type: ignore[arg-type]  # duck-typed: base_url, mcp_url
        params, verifier = sign_in_without_browser(pair, upstream, http, client_id, "hedy", "hedy@example.com")  # type: ignore[arg-type]
        assert params["state"] == "client-state" and params["iss"] == pair.base_url, params
        tokens = redeem(pair, http, client_id, params["code"], verifier)  # type: ignore[arg-type]
        token_claims = claims(tokens["access_token"])
        assert token_claims["email"] == "hedy@example.com" and token_claims["iss"] == pair.base_url, token_claims
        assert token_claims["aud"] == pair.mcp_url, token_claims

        served = pair.served(since, 5)
        steps = [(s.method, s.uri.split("?")[0], s.status) for s in served]
        assert steps == [("POST", "/register", 201), ("GET", "/authorize", 200), ("POST", "/authorize", 303),
                         ("GET", "/auth/callback", 303), ("POST", "/token", 200)], served
        ports = [s.port for s in served]
        assert all(a != b for a, b in zip(ports, ports[1:])) and set(ports) == pair.ports, served
        # The person is linked to the provider's (issuer, subject) in the pair's database.
        rows = pair.psql("select issuer from idp_upstream_identities where subject = 'hedy'")
        assert rows == upstream.issuer, rows

        since = pair.mark()
        for _ in range(2):
            whoami = RawUser(pair, tokens["access_token"], http, "hedy").ok("whoami")  # type: ignore[arg-type]
            assert whoami["structuredContent"]["email"] == "hedy@example.com", whoami
        # A refresh, which asks the provider again, on whichever instance.
        refreshed = refresh(pair, client_id, tokens["refresh_token"])
        assert refreshed.status_code == 200, refreshed.text
        assert set(ports_of(pair.served(since, 3))) == pair.ports


# ======================================================================================
# 4b. Rate limits are the deployment's, not each instance's
# ======================================================================================

SHARED_USER_LIMIT = 9


def test_rate_limits_are_shared_by_the_instances(front: Cluster) -> None:
    """Two instances with GATEHOUSE_RATE_LIMIT_USER=9/hour on their own database behind their own
    nginx: Ben's requests alternate between them, and exactly 9 are served in all (not 9 per
    instance); the 10th and later get 429 with Retry-After and JSON-RPC -32029 from either
    instance, while Carol, another user, is still served. The counts are rows of rate_windows in
    PostgreSQL, one per user and window."""
    with balanced_hubs(front.postgres, "scaling_limits", ["limits-a", "limits-b"],
                       ["--rate-limit-user", f"{SHARED_USER_LIMIT}/hour"]) as pair, httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        for email, password in ((BEN, BEN_PASSWORD), (CAROL, CAROL_PASSWORD)):
            pair.add_user(email, email.split("@")[0].title(), password)
        _, ben_tokens = sign_in_with_form(pair, BEN, BEN_PASSWORD, "limits ben")
        _, carol_tokens = sign_in_with_form(pair, CAROL, CAROL_PASSWORD, "limits carol")
        def whoami(token: str) -> httpx2.Response:
            return http.post(pair.mcp_url, json=rpc_body("tools/call", {"name": "whoami", "arguments": {}}),
                             headers=rpc_headers(token, "tools/call", "whoami"))

        since = pair.mark()
        statuses = [whoami(ben_tokens["access_token"]).status_code for _ in range(SHARED_USER_LIMIT + 4)]
        assert statuses == [200] * SHARED_USER_LIMIT + [429] * 4, statuses
        served = pair.served(since, len(statuses))
        assert {s.port for s in served[:SHARED_USER_LIMIT]} == pair.ports, served
        assert {s.port for s in served[SHARED_USER_LIMIT:]} == pair.ports, f"only one instance refused: {served}"
        refused = whoami(ben_tokens["access_token"])
        assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 3600, refused.headers
        error = refused.json()["error"]
        assert error["code"] == -32029 and error["data"]["limit"] == "user", error
        assert whoami(carol_tokens["access_token"]).status_code == 200
        assert pair.psql("select count(*) from rate_windows where bucket like 'mcp:user:%'") == "2"


GUESSED = "guessed@example.com"


def test_password_guessing_is_throttled_across_instances(front: Cluster) -> None:
    """Wrong passwords for one account (one nobody has: the throttle counts unknown accounts the
    same, and the module's users stay usable), each attempt a new page and a form post through nginx,
    so the attempts land on every instance: the five free failures and the sixth are checked
    (401), the seventh is refused at once (429) wherever it lands, because the failures are
    counted in PostgreSQL (sign_in_failures), not per instance (which would allow fifteen free
    ones on three instances). The rows hold hashes of the keys, not the email."""
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        client = EmbeddedAS(front, http).new_client(client_name="guesser")  # type: ignore[arg-type]
        since = front.mark()
        statuses = [sign_in_attempt(http, front, client.client_id, GUESSED, f"guess {n}").status_code for n in range(7)]  # type: ignore[arg-type]
        assert statuses == [401] * 6 + [429], statuses
        posts = [s for s in front.served(since, 14) if s.method == "POST" and s.uri == "/authorize"]
        assert {s.port for s in posts} == front.ports, f"the attempts did not reach every instance: {posts}"
        assert front.psql("select count(*) from sign_in_failures") == "2"  # the account's and the address's, hashed
        # Another account is not blocked (the address has 20 free failures).
        assert sign_in_attempt(http, front, client.client_id, CAROL, "wrong").status_code == 401  # type: ignore[arg-type]


# ======================================================================================
# 5. One instance dies (runs last: it leaves the module's cluster with two instances)
# ======================================================================================


def test_clients_carry_on_when_an_instance_is_killed(front: Cluster, tmp_path: Path) -> None:
    """SIGKILL of one of the three instances (the one that opened the legacy client's session)
    while Dora's writer adds notes (raw stateless requests, one after the other) and two SDK
    clients of hers are connected: one stateless ("auto"), one with a legacy session. nginx tries
    the dead instance once more (connection refused) and goes on to the next, or, for a request
    the dead one was serving, answers 502 (never acknowledged); then leaves it out. Every other
    request succeeds on the two survivors: the writer's, and both SDK clients', which carry on
    without signing in again or re-initializing (the legacy session lives in PostgreSQL, so the
    survivors serve it). Every note whose notes_add was acknowledged, before, during or after the
    kill, is listed afterwards through both survivors and is in the database."""
    _, tokens = sign_in_with_form(front, DORA, DORA_PASSWORD, "scaling writer")
    acknowledged: list[tuple[int, str]] = []
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        dora = RawUser(front, tokens["access_token"], http, "dora")  # type: ignore[arg-type]
        dora.ok("add_tool", {"tool_name": "notes", "config": {"notebook": "Survival"}})
        since = front.mark()
        for index in range(2 * INSTANCES):
            text = f"before {index}"
            acknowledged.append((dora.ok("notes_add", {"text": text})["structuredContent"]["id"], text))
        assert set(ports_of(front.served(since, 2 * INSTANCES))) == front.ports

    # The writer: its own connection, notes_add after notes_add until told to stop.
    stop_writing = threading.Event()
    writer_log: list[tuple[float, int, str, int | None]] = []  # (time, HTTP status or 0, text, acknowledged note id)

    def writer() -> None:
        with httpx2.Client(timeout=HTTP_TIMEOUT_S) as own:
            for index in range(WRITER_MAX_NOTES):
                if stop_writing.is_set():
                    return
                text = f"writer {index}"
                request = rpc_body("tools/call", {"name": "notes_add", "arguments": {"text": text}})
                try:
                    response = own.post(front.mcp_url, json=request,
                                        headers=rpc_headers(tokens["access_token"], "tools/call", "notes_add"))
                except httpx2.HTTPError:
                    writer_log.append((time.monotonic(), 0, text, None))
                    continue
                result = response.json().get("result", {}) if response.status_code == 200 else {}
                note_id = result["structuredContent"]["id"] if result and result.get("isError") is not True else None
                writer_log.append((time.monotonic(), response.status_code, text, note_id))
                time.sleep(WRITER_PAUSE_S)

    auto_traffic, legacy_traffic = Traffic(), Traffic()
    auto_storage, legacy_storage = FileTokenStorage(tmp_path / "auto.json"), FileTokenStorage(tmp_path / "legacy.json")
    auto_browser, legacy_browser = SigningInBrowser(DORA, DORA_PASSWORD), SigningInBrowser(DORA, DORA_PASSWORD)
    outcome: dict[str, Any] = {}

    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            auto = await stack.enter_async_context(sdk_client(front, "auto", auto_storage, auto_browser, auto_traffic))
            since = front.mark()
            legacy = await stack.enter_async_context(sdk_client(front, "legacy", legacy_storage, legacy_browser, legacy_traffic))
            # The instance that answered the legacy client's initialize (its first MCP request that
            # succeeded). nginx logs a request just after answering it: wait (bounded) for the line.
            deadline = time.monotonic() + 5
            while True:
                opened = [s for s in front.served(since) if (s.method, s.uri, s.status) == ("POST", "/mcp", 200)]
                if opened or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            assert opened, f"no logged initialize after line {since}: {front.served(since)}"
            victim = next(server for server in front.instances if server.port == opened[0].port)
            outcome["victim"] = victim
            for client, label in ((auto, "auto"), (legacy, "legacy")):
                await call_add(client)
                noted = await client.call_tool("notes_add", {"text": f"{label} before"})
                assert noted.is_error is not True, noted
                acknowledged.append((noted.structured_content["id"], f"{label} before"))
            writing = threading.Thread(target=writer, name="writer", daemon=True)
            writing.start()
            await asyncio.sleep(0.5)
            # The kill: the process dies at once, with whatever it was serving.
            outcome["killed_at"] = time.monotonic()
            front.killed.add(front.instances.index(victim))
            await asyncio.to_thread(victim.crash)
            # Every line from here on is of a request nginx handled after the kill (the lines of
            # those the victim completed follow their responses within microseconds).
            await asyncio.sleep(LOG_QUIET_S)
            outcome["mark"] = len(front.nginx.access_log())
            for round_number in range(3):
                for client, label in ((auto, "auto"), (legacy, "legacy")):
                    whoami = await call_whoami(client)
                    assert whoami["email"] == DORA, whoami
                    await call_add(client)
                    text = f"{label} after {round_number}"
                    noted = await client.call_tool("notes_add", {"text": text})
                    assert noted.is_error is not True, (label, noted)
                    acknowledged.append((noted.structured_content["id"], text))
                await asyncio.sleep(0.2)
            stop_writing.set()
            await asyncio.to_thread(writing.join, 10)
            assert not writing.is_alive(), "the writer did not stop"

    try:
        run(scenario, SCENARIO_TIMEOUT_S)
    finally:
        stop_writing.set()
    victim: GatehouseServer = outcome["victim"]
    survivors = front.ports - {victim.port}

    # Neither SDK client had to sign in again; the legacy one kept its one session throughout, and
    # none of their MCP requests failed.
    assert len(auto_browser.authorization_urls) == 1 and len(legacy_browser.authorization_urls) == 1
    assert len(session_ids(legacy_traffic, front.mcp_url)) == 1, legacy_traffic.describe()
    for traffic in (auto_traffic, legacy_traffic):
        mcp = traffic.to(front.mcp_url)
        assert mcp[0][2] == 401 and all(e[2] in (200, 202, 204) or (e[0], e[2]) == ("GET", 405) for e in mcp[1:]), traffic.describe()
    assert [e[0] for e in legacy_traffic.to(front.mcp_url, "POST") if "mcp-session-id" not in e[3]] == ["POST", "POST"], (
        "the legacy client initialized more than once")  # the initialize, before and after signing in

    # The writer: at most the one request the dead instance was serving failed (502, never
    # acknowledged); every other, before and after the kill, succeeded.
    killed_at = outcome["killed_at"]
    failed = [entry for entry in writer_log if entry[3] is None]
    assert len(failed) <= 1 and all(status == 502 for _, status, _, _ in failed), failed
    assert len([e for e in writer_log if e[0] > killed_at]) >= 5 and len([e for e in writer_log if e[0] <= killed_at]) >= 3, writer_log
    acknowledged += [(note_id, text) for _, _, text, note_id in writer_log if note_id is not None]

    # nginx after the kill: only the survivors answered; the dead one was tried at most once (by the
    # request it was serving, or by the next one, which nginx then passed on to a survivor).
    front.mark()  # waits until nginx has logged every request so far
    served = front.served(outcome["mark"])
    assert {s.port for s in served} == survivors, served
    tried_victim = [s for s in served if f"127.0.0.1:{victim.port}" in s.tried]
    assert len(tried_victim) <= 1 and all(s.tried[-1] != f"127.0.0.1:{victim.port}" or s.status == 502 for s in tried_victim), served
    assert [s for s in served if s.status >= 500] == [s for s in tried_victim if s.status >= 500], served

    # No acknowledged write lost: listed through both survivors, and in the database.
    assert len(acknowledged) <= 100, "more notes than one notes_list shows; slow the writer down"
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        dora = RawUser(front, tokens["access_token"], http, "dora")  # type: ignore[arg-type]
        since = front.mark()
        listings = [{(note["id"], note["text"]) for note in dora.ok("notes_list", {"limit": 100})["structuredContent"]["notes"]}
                    for _ in range(2)]
        assert set(ports_of(front.served(since, 2))) == survivors
    assert listings[0] == listings[1]
    missing = set(acknowledged) - listings[0]
    assert not missing, f"acknowledged notes lost: {sorted(missing)}"
    rows = front.psql("select n.id || '|' || n.text from user_notes n join users u on u.id = n.user_id "
                      f"where u.email = '{DORA}' order by n.id")
    stored = {(int(row.split("|", 1)[0]), row.split("|", 1)[1]) for row in rows.splitlines()}
    assert listings[0] == stored and set(acknowledged) <= stored
    # Beyond the acknowledged notes, at most the one the kill cut short may have been stored.
    assert len(stored - set(acknowledged)) <= len(failed), sorted(stored - set(acknowledged))
