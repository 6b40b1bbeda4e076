#!/usr/bin/env python3
"""A mixed soak of a `gatehouse` binary: a hub and a gateway under a bounded, steady load.

    .venv-interop/bin/python bench/soak/soak.py --binary PATH --minutes 10 [--store sqlite|postgres]

Starts, on 127.0.0.1:
  - a hub (the embedded authorization server with its sign-in page, users made with
    `gatehouse idp add-user`, --metrics-port, --audit-log, --resource naming the gateway, short
    access tokens: GATEHOUSE_ACCESS_TOKEN_TTL=60 by default, so tokens expire and are refreshed
    all the time), on SQLite or on a throwaway PostgreSQL cluster (scripts/postgres.sh);
  - a gateway (`gatehouse gateway --jwt-issuer HUB`, --metrics-port) in front of a stdio upstream
    (bench/soak/peers/slow_stdio.py, started by the gateway) and a FastMCP upstream
    (Tests/Interop/peers/gateway_fastmcp_upstream.py);
then runs worker threads, each at a bounded rate, for --minutes:
  sign-in    register + GET /authorize + POST the form + POST /token, for the hub or the gateway
  refresh    rotate the oldest login's refresh token; sometimes an unknown refresh token (400)
  hub x2     tools/call add, whoami, notes_add + notes_list, wait with progress (SSE), tools/list
             (2026-07-28 stateless), and 2025-11-25 sessions: initialize, calls, DELETE, and a
             call on the deleted session (404)
  gateway    files_shout (stdio), docs_echo and docs_slow_count with progress (FastMCP), stateless
             and in sessions with DELETE
  refused    garbage, tampered, expired and missing tokens, a hub token on the gateway (401)
Every answer is checked: an expected success (the right result), an expected refusal (the right
status and error), or an unexpected error (any 5xx, exception, timeout or wrong answer).

Every --sample-every seconds: RSS (VmRSS), open fds and threads of the hub and the gateway (and
the upstreams' RSS), the hub's and gateway's own request and 5xx counters from /metrics.

At the end: both servers get SIGTERM (they must exit 0), and a Markdown report goes to --output
(default bench/results/soak-latest.md, and .json beside it): the samples, RSS after the warm-up
(the first 2 minutes or 20 % of the run, whichever is shorter) against the end, fds, the counts
per kind and the unexpected errors. Exit status 1 when RSS grew more than 10 % after the warm-up
or any unexpected error occurred.

Everything started is stopped at the end and on Ctrl-C. Logs stay in bench/results/tmp/soak/.
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import os
import platform
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import procs  # noqa: E402  (also puts bench/hostile on sys.path)
import httpx2  # noqa: E402
import mcpio  # noqa: E402
import metrics  # noqa: E402
import oauth  # noqa: E402  (bench/hostile)

REPO = procs.REPO
RESULTS = REPO / "bench" / "results"
LOGS = RESULTS / "tmp" / "soak"
STDIO_PEER = HERE / "peers" / "slow_stdio.py"
FASTMCP_PEER = procs.PEERS / "gateway_fastmcp_upstream.py"

USERS = [("alice@example.com", "Alice"), ("bob@example.com", "Bob"), ("carol@example.com", "Carol"),
         ("dave@example.com", "Dave")]
PASSWORD = "soak password, long enough"
REQUEST_TIMEOUT_S = 20.0
# JWT leeway the servers apply to exp (GATEHOUSE_JWT_LEEWAY default), so a token is certainly
# expired TTL + LEEWAY + margin after it was issued.
LEEWAY_S = 30


# ======================================================================================
# Outcomes
# ======================================================================================


class Unexpected(Exception):
    """A wrong answer: status, body or result not what the request must get."""


class Outcomes:
    """Per kind: expected successes, expected refusals, unexpected errors, latencies."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.latency: dict[str, list[float]] = collections.defaultdict(list)
        self.errors: list[dict] = []
        self.started = time.monotonic()

    def record(self, kind: str, outcome: str, seconds: float | None = None, detail: str | None = None) -> None:
        with self.lock:
            self.counts[kind][outcome] += 1
            if seconds is not None:
                self.latency[kind].append(seconds)
            if outcome == "unexpected":
                self.errors.append({"t": round(time.monotonic() - self.started, 1), "kind": kind, "detail": detail})

    def totals(self) -> collections.Counter:
        with self.lock:
            total: collections.Counter = collections.Counter()
            for counter in self.counts.values():
                total.update(counter)
            return total

    def run(self, kind: str, body, refusal: bool = False) -> bool:
        """Runs `body()`; it returns nothing or raises Unexpected. Records the outcome."""
        started = time.monotonic()
        try:
            body()
        except Unexpected as error:
            self.record(kind, "unexpected", time.monotonic() - started, str(error)[:500])
            return False
        except Exception as error:  # noqa: BLE001 - any exception is an unexpected error
            self.record(kind, "unexpected", time.monotonic() - started, f"{type(error).__name__}: {error}"[:500])
            return False
        self.record(kind, "refused" if refusal else "ok", time.monotonic() - started)
        return True


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Unexpected(message)


def expect_status(answer, status: int | tuple[int, ...], what: str) -> None:
    statuses = status if isinstance(status, tuple) else (status,)
    code = answer.status if hasattr(answer, "status") else answer.status_code
    if code not in statuses:
        body = answer.text() if callable(getattr(answer, "text", None)) else answer.text
        raise Unexpected(f"{what}: HTTP {code}, expected {statuses}: {body[:300]!r}")


# ======================================================================================
# Logins
# ======================================================================================


@dataclass
class User:
    email: str
    name: str
    subject: str = ""


@dataclass
class Login:
    user: User
    target: str  # "hub" or "gateway"
    client_id: str
    access: str
    refresh: str
    issued: float  # monotonic time the access token was issued


@dataclass
class Pool:
    """The latest login per (user, target), and access tokens that were replaced (they expire)."""

    logins: dict[tuple[str, str], Login] = field(default_factory=dict)
    retired: collections.deque = field(default_factory=lambda: collections.deque(maxlen=200))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, login: Login) -> None:
        with self.lock:
            old = self.logins.get((login.user.email, login.target))
            if old is not None:
                self.retired.append((old.target, old.access, old.issued))
            self.logins[(login.user.email, login.target)] = login

    def pick(self, target: str, max_age: float) -> Login | None:
        with self.lock:
            fresh = [l for l in self.logins.values() if l.target == target and time.monotonic() - l.issued < max_age]
        return random.choice(fresh) if fresh else None

    def oldest(self) -> Login | None:
        with self.lock:
            return min(self.logins.values(), key=lambda l: l.issued, default=None)

    def expired(self, target: str, older_than: float) -> str | None:
        with self.lock:
            old = [a for t, a, issued in self.retired if t == target and time.monotonic() - issued > older_than]
        return random.choice(old) if old else None


class Soak:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.binary = str(Path(options.binary).resolve())
        self.root = Path(tempfile.mkdtemp(prefix="gatehouse-soak-"))
        self.root.chmod(0o711)
        self.outcomes = Outcomes()
        self.pool = Pool()
        self.users = [User(e, n) for e, n in USERS]
        self.stop = threading.Event()
        self.samples: list[dict] = []
        self.ttl = options.token_ttl
        self.hub_port, self.hub_metrics = procs.free_port(), procs.free_port()
        self.gw_port, self.gw_metrics = procs.free_port(), procs.free_port()
        self.fastmcp_port = procs.free_port()
        self.hub_base = f"http://127.0.0.1:{self.hub_port}"
        self.hub_mcp = self.hub_base + "/mcp"
        self.gw_base = f"http://127.0.0.1:{self.gw_port}"
        self.gw_mcp = self.gw_base + "/mcp"
        self.postgres: procs.Postgres | None = None
        self.hub: procs.Proc | None = None
        self.gateway: procs.Proc | None = None
        self.fastmcp: procs.Proc | None = None
        self.notes_text: dict[str, str] = {}
        self.stop_results: dict[str, tuple] = {}
        self.run_seconds = 0.0
        self.pg_log = ""
        # (t, hub RSS KiB, gateway RSS KiB): every second, so short spikes (a sign-in's scrypt
        # takes 32 MiB for a fraction of a second) do not decide the comparison.
        self.fine: list[tuple[float, int | None, int | None]] = []

    def log(self, message: str) -> None:
        print(f"[soak +{time.monotonic() - self.outcomes.started:6.1f}s] {message}", file=sys.stderr, flush=True)

    # ------------------------------------------------------------------ set-up
    def start(self) -> None:
        hub_dir = self.root / "hub"
        hub_dir.mkdir()
        store_args: list[str]
        store_env: dict[str, str] = {}
        if self.options.store == "postgres":
            self.postgres = procs.Postgres(self.root / "pg").start()
            store_args = ["--database-url", self.postgres.url]
            store_env = {"GATEHOUSE_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
            self.log(f"PostgreSQL on port {self.postgres.port}")
        else:
            store_args = ["--database-path", str(hub_dir / "hub.db")]
        for user in self.users:
            procs.cli(self.binary, "idp", "add-user", user.email, "--name", user.name, "--password-stdin", *store_args,
                      cwd=hub_dir, env=store_env, stdin=PASSWORD + "\n")
        env = {"GATEHOUSE_ACCESS_TOKEN_TTL": str(self.ttl), **store_env}
        self.hub = procs.gatehouse(self.binary, "hub", "hub", hub_dir, self.hub_port, [
            *store_args, "--metrics-port", str(self.hub_metrics), "--resource", self.gw_mcp,
            "--audit-log", str(hub_dir / "audit.jsonl")], env=env).start()
        self.log(f"hub pid {self.hub.pid} at {self.hub_base}")
        upstream_dir = self.root / "upstreams"
        self.fastmcp = procs.peer(FASTMCP_PEER, "fastmcp", upstream_dir, self.fastmcp_port).start()
        gw_dir = self.root / "gateway"
        self.gateway = procs.gatehouse(self.binary, "gateway", "gateway", gw_dir, self.gw_port, [
            "--jwt-issuer", self.hub_base, "--metrics-port", str(self.gw_metrics),
            "--upstream", f"files=stdio:{procs.PYTHON} {STDIO_PEER}",
            "--upstream", f"docs=http://127.0.0.1:{self.fastmcp_port}/mcp"]).start()
        self.log(f"gateway pid {self.gateway.pid} at {self.gw_base}")
        # Each user signs in once for each target; the hub logins activate notes.
        with httpx2.Client(timeout=REQUEST_TIMEOUT_S) as http:
            for user in self.users:
                for target in ("hub", "gateway"):
                    login = self.sign_in(user, target)
                    if login is None:
                        raise RuntimeError(f"set-up: {user.email} could not sign in for the {target}: "
                                           f"{self.outcomes.errors[-1:]}")
                    if target == "hub":
                        who = mcpio.call(http, self.hub_mcp, login.access, "whoami", {})
                        expect_status(who, 200, "set-up whoami")
                        user.subject = mcpio.structured(who)["subject"]
                        added = mcpio.call(http, self.hub_mcp, login.access, "add_tool",
                                           {"tool_name": "notes", "config": {"notebook": "Soak", "max_notes": 10000}})
                        expect(added.status == 200 and not mcpio.is_tool_error(added), f"set-up add_tool: {added.short()}")

    # ------------------------------------------------------------------ the operations
    def sign_in(self, user: User, target: str) -> Login | None:
        resource = self.hub_mcp if target == "hub" else self.gw_mcp
        result: dict = {}

        def body() -> None:
            registered = oauth.register(self.hub_base, timeout=REQUEST_TIMEOUT_S)
            expect(registered.status == 201, f"/register: HTTP {registered.status} {registered.text()[:200]!r}")
            client_id = registered.json()["client_id"]
            page = oauth.open_page(self.hub_base, client_id, resource, timeout=REQUEST_TIMEOUT_S)
            answer = oauth.submit(self.hub_base, page, user.email, PASSWORD, timeout=REQUEST_TIMEOUT_S)
            params = oauth.redirect_params(answer)
            expect(bool(params and params.get("code")),
                   f"sign-in form: HTTP {answer.status} {answer.headers.get('location')} {answer.text()[:200]!r}")
            expect(params.get("iss") == self.hub_base, f"sign-in redirect iss {params.get('iss')!r}")
            tokens = oauth.exchange(self.hub_base, client_id, params["code"], page.verifier, resource)
            expect(tokens.status == 200, f"/token (code): HTTP {tokens.status} {tokens.text()[:200]!r}")
            values = tokens.json()
            expect(values.get("token_type", "").lower() == "bearer" and values.get("refresh_token"), f"tokens {list(values)}")
            result["login"] = Login(user, target, client_id, values["access_token"], values["refresh_token"], time.monotonic())

        if self.outcomes.run(f"sign-in ({target})", body):
            self.pool.put(result["login"])
            return result["login"]
        return None

    def refresh_oldest(self) -> None:
        login = self.pool.oldest()
        if login is None:
            return

        def body() -> None:
            answer = oauth.refresh(self.hub_base, login.client_id, login.refresh, timeout=REQUEST_TIMEOUT_S)
            expect(answer.status == 200, f"refresh: HTTP {answer.status} {answer.text()[:200]!r}")
            values = answer.json()
            expect(values.get("refresh_token") and values["refresh_token"] != login.refresh, "refresh: no new refresh token")
            self.pool.put(Login(login.user, login.target, login.client_id, values["access_token"], values["refresh_token"],
                                time.monotonic()))

        self.outcomes.run("refresh", body)

    def refresh_unknown(self) -> None:
        def body() -> None:
            answer = oauth.refresh(self.hub_base, "ghc_unknown", "ghr_" + secrets.token_urlsafe(32), timeout=REQUEST_TIMEOUT_S)
            expect(answer.status in (400, 401), f"unknown refresh token: HTTP {answer.status} {answer.text()[:200]!r}")
            error = answer.json().get("error")
            expect(error in ("invalid_grant", "invalid_client"), f"unknown refresh token: error {error!r}")

        self.outcomes.run("refresh (unknown token)", body, refusal=True)

    def hub_op(self, http: httpx2.Client) -> None:
        login = self.pool.pick("hub", self.ttl - 10)
        if login is None:
            return
        token, user = login.access, login.user
        op = random.choices(["add", "whoami", "notes", "session", "wait", "list"], weights=[3, 3, 3, 2, 1, 1])[0]
        if op == "add":
            a, b = random.randint(-1000, 1000), random.randint(-1000, 1000)

            def body() -> None:
                answer = mcpio.call(http, self.hub_mcp, token, "add", {"a": a, "b": b})
                expect_status(answer, 200, "add")
                expect(mcpio.structured(answer) == {"result": a + b}, f"add({a},{b}): {answer.short()}")

            self.outcomes.run("hub add (stateless)", body)
        elif op == "whoami":
            def body() -> None:
                answer = mcpio.call(http, self.hub_mcp, token, "whoami", {})
                expect_status(answer, 200, "whoami")
                got = mcpio.structured(answer) or {}
                expect(got.get("email") == user.email and got.get("subject") == user.subject and got.get("client_id") == login.client_id,
                       f"whoami for {user.email}: {got}")

            self.outcomes.run("hub whoami (stateless)", body)
        elif op == "notes":
            text = f"note {secrets.token_hex(6)} of {user.email}"

            def body() -> None:
                added = mcpio.call(http, self.hub_mcp, token, "notes_add", {"text": text})
                expect_status(added, 200, "notes_add")
                expect(not mcpio.is_tool_error(added), f"notes_add: {added.short()}")
                note_id = (mcpio.structured(added) or {}).get("id")
                listed = mcpio.call(http, self.hub_mcp, token, "notes_list", {"limit": 20})
                expect_status(listed, 200, "notes_list")
                notes = (mcpio.structured(listed) or {}).get("notes", [])
                expect({"id": note_id, "text": text} in notes, f"notes_list lacks #{note_id}: {listed.short()}")

            self.outcomes.run("hub notes_add + notes_list (stateless)", body)
        elif op == "session":
            def body() -> None:
                session = mcpio.Session(http, self.hub_mcp, token)
                opened = session.open()
                expect(opened.status == 200 and session.id, f"initialize: {opened.short()}")
                a, b = random.randint(0, 99), random.randint(0, 99)
                added = session.call("add", {"a": a, "b": b})
                expect(added.status == 200 and mcpio.structured(added) == {"result": a + b}, f"session add: {added.short()}")
                who = session.call("whoami", {})
                expect(who.status == 200 and (mcpio.structured(who) or {}).get("email") == user.email, f"session whoami: {who.short()}")
                deleted = session.delete()
                expect(deleted.status in (200, 202, 204), f"DELETE session: {deleted.short()}")
                gone = session.call("add", {"a": 1, "b": 1})
                expect(gone.status == 404, f"call on a deleted session: {gone.short()}")

            self.outcomes.run("hub session (initialize, 2 calls, DELETE, 404 after)", body)
        elif op == "wait":
            def body() -> None:
                answer = mcpio.call(http, self.hub_mcp, token, "wait", {"seconds": 1}, progress=True)
                expect_status(answer, 200, "wait")
                expect(answer.headers.get("content-type", "").startswith("text/event-stream"), f"wait: not SSE {answer.headers}")
                expect(len(answer.progress) >= 1 and (mcpio.structured(answer) or {}).get("waited", 0) >= 1,
                       f"wait with progress: {answer.short()}")

            self.outcomes.run("hub wait 1 s with progress (SSE)", body)
        else:
            def body() -> None:
                answer = mcpio.stateless(http, self.hub_mcp, token, "tools/list")
                expect_status(answer, 200, "tools/list")
                names = {t["name"] for t in (answer.result or {}).get("tools", [])}
                expect({"add", "whoami", "wait", "notes_add", "notes_list"} <= names, f"tools/list: {sorted(names)}")

            self.outcomes.run("hub tools/list (stateless)", body)

    def gateway_op(self, http: httpx2.Client) -> None:
        login = self.pool.pick("gateway", self.ttl - 10)
        if login is None:
            return
        token = login.access
        op = random.choices(["shout", "echo", "session", "slow"], weights=[3, 3, 2, 1])[0]
        word = secrets.token_hex(4)
        if op == "shout":
            def body() -> None:
                answer = mcpio.call(http, self.gw_mcp, token, "files_shout", {"text": word})
                expect_status(answer, 200, "files_shout")
                expect(mcpio.first_text(answer) == word.upper() + "!" and not mcpio.is_tool_error(answer),
                       f"files_shout: {answer.short()}")

            self.outcomes.run("gateway files_shout (stdio, stateless)", body)
        elif op == "echo":
            def body() -> None:
                answer = mcpio.call(http, self.gw_mcp, token, "docs_echo", {"text": word})
                expect_status(answer, 200, "docs_echo")
                expect(mcpio.first_text(answer) == word and not mcpio.is_tool_error(answer), f"docs_echo: {answer.short()}")

            self.outcomes.run("gateway docs_echo (FastMCP, stateless)", body)
        elif op == "session":
            def body() -> None:
                session = mcpio.Session(http, self.gw_mcp, token)
                opened = session.open()
                expect(opened.status == 200 and session.id, f"gateway initialize: {opened.short()}")
                listed = session.request("tools/list")
                names = {t["name"] for t in (listed.result or {}).get("tools", [])}
                expect(listed.status == 200 and {"files_shout", "docs_echo", "docs_slow_count"} <= names,
                       f"gateway tools/list: {listed.short()}")
                shouted = session.call("files_shout", {"text": word})
                expect(shouted.status == 200 and mcpio.first_text(shouted) == word.upper() + "!", f"session files_shout: {shouted.short()}")
                echoed = session.call("docs_echo", {"text": word})
                expect(echoed.status == 200 and mcpio.first_text(echoed) == word, f"session docs_echo: {echoed.short()}")
                deleted = session.delete()
                expect(deleted.status in (200, 202, 204), f"gateway DELETE session: {deleted.short()}")

            self.outcomes.run("gateway session (initialize, list, 2 calls, DELETE)", body)
        else:
            def body() -> None:
                answer = mcpio.call(http, self.gw_mcp, token, "docs_slow_count", {"n": 2}, progress=True)
                expect_status(answer, 200, "docs_slow_count")
                expect(len(answer.progress) == 2 and mcpio.first_text(answer) == "counted to 2",
                       f"docs_slow_count with progress: {answer.short()}")

            self.outcomes.run("gateway docs_slow_count with progress (SSE)", body)

    def refused_op(self, http: httpx2.Client) -> None:
        kinds = ["garbage", "tampered", "expired", "none", "gw-garbage", "gw-expired", "gw-hub-token"]
        kind = random.choice(kinds)
        on_gateway = kind.startswith("gw-")
        url = self.gw_mcp if on_gateway else self.hub_mcp
        if kind in ("garbage", "gw-garbage"):
            token = "garbage-" + secrets.token_urlsafe(16)
        elif kind == "tampered":
            login = self.pool.pick("hub", self.ttl - 10)
            if login is None:
                return
            head, payload, signature = login.access.split(".")
            flipped = ("A" if signature[5] != "A" else "B")
            token = ".".join([head, payload, signature[:5] + flipped + signature[6:]])
        elif kind in ("expired", "gw-expired"):
            token = self.pool.expired("gateway" if on_gateway else "hub", self.ttl + LEEWAY_S + 5)
            if token is None:
                return
        elif kind == "gw-hub-token":
            login = self.pool.pick("hub", self.ttl - 10)
            if login is None:
                return
            token = login.access
        else:
            token = None

        def body() -> None:
            answer = mcpio.call(http, url, token, "add", {"a": 1, "b": 2})
            expect(answer.status == 401, f"{kind} token: {answer.short()}")
            challenge = mcpio.www_authenticate(answer)
            expect(challenge.startswith("Bearer") and "resource_metadata=" in challenge, f"{kind}: challenge {challenge!r}")
            if token is not None:
                expect('error="invalid_token"' in challenge, f"{kind}: challenge {challenge!r}")
            if kind.endswith("expired"):
                expect("expired" in challenge, f"{kind}: challenge does not say expired: {challenge!r}")

        self.outcomes.run(f"refused: {kind}", body, refusal=True)

    # ------------------------------------------------------------------ workers and sampler
    def worker(self, name: str, interval: float, step) -> None:
        rng_offset = random.random() * interval
        if self.stop.wait(rng_offset):
            return
        with httpx2.Client(timeout=REQUEST_TIMEOUT_S) as http:
            while not self.stop.is_set():
                began = time.monotonic()
                try:
                    step(http)
                except Exception:  # noqa: BLE001 - a bug of the harness, not of the server: shown
                    self.outcomes.record(f"harness ({name})", "unexpected", None, traceback.format_exc()[-500:])
                self.stop.wait(max(0.0, interval - (time.monotonic() - began)))

    def sample(self, t: float) -> dict:
        row: dict = {"t": round(t, 1)}
        for label, proc in (("hub", self.hub), ("gateway", self.gateway)):
            row[f"{label}_rss_kib"] = proc.rss_kib()
            row[f"{label}_fds"] = proc.fds()
            row[f"{label}_threads"] = proc.threads()
            row[f"{label}_alive"] = proc.alive()
        row["fastmcp_rss_kib"] = self.fastmcp.rss_kib()
        stdio = procs.children_of(self.gateway.pid) if self.gateway.alive() else []
        row["stdio_rss_kib"] = sum(procs.rss_kib(p) or 0 for p in stdio) or None
        if self.postgres is not None:
            row["postgres_rss_kib"] = _tree_rss(self.postgres.postmaster_pid())
        for label, port in (("hub", self.hub_metrics), ("gateway", self.gw_metrics)):
            scraped = metrics.scrape(f"http://127.0.0.1:{port}/metrics")
            row[f"{label}_requests"] = int(scraped.requests()) if scraped else None
            row[f"{label}_5xx"] = int(scraped.server_errors()) if scraped else None
            if label == "hub" and scraped:
                row["hub_sessions_active"] = scraped.total("gatehouse_mcp_sessions_active")
        totals = self.outcomes.totals()
        row.update({"ok": totals["ok"], "refused": totals["refused"], "unexpected": totals["unexpected"]})
        previous = self.samples[-1]["t"] if self.samples else -1.0
        for index, label in ((1, "hub"), (2, "gateway")):
            window = [f[index] for f in self.fine if previous < f[0] <= t + 0.5 and f[index]]
            if window:
                row[f"{label}_rss_window"] = (min(window), int(statistics.median(window)), max(window))
        return row

    def fine_sampler(self, started: float) -> None:
        while not self.stop.is_set():
            self.fine.append((time.monotonic() - started, self.hub.rss_kib(), self.gateway.rss_kib()))
            self.stop.wait(1.0)

    def run(self) -> None:
        minutes = self.options.minutes
        duration = minutes * 60.0
        workers = [
            ("sign-in", self.options.login_interval, lambda http: self.sign_in(
                self.users[int(time.monotonic() / self.options.login_interval) % len(self.users)],
                random.choice(["hub", "gateway"]))),
            ("refresh", 2.5, lambda http: self.refresh_unknown() if random.random() < 0.1 else self.refresh_oldest()),
            ("hub-1", 0.5, self.hub_op),
            ("hub-2", 0.5, self.hub_op),
            ("gateway", 0.6, self.gateway_op),
            ("refused", 1.0, self.refused_op),
        ]
        threads = [threading.Thread(target=self.worker, args=w, name=w[0], daemon=True) for w in workers]
        started = time.monotonic()
        self.samples.append(self.sample(0.0))
        threads.append(threading.Thread(target=self.fine_sampler, args=(started,), name="rss", daemon=True))
        for thread in threads:
            thread.start()
        self.log(f"load running for {minutes:g} min ({len(threads)} workers), a sample every {self.options.sample_every:g} s")
        next_sample = started + self.options.sample_every
        try:
            while True:
                now = time.monotonic()
                if now - started >= duration:
                    break
                time.sleep(max(0.0, min(next_sample, started + duration) - now))
                if time.monotonic() >= next_sample:
                    row = self.sample(time.monotonic() - started)
                    self.samples.append(row)
                    next_sample += self.options.sample_every
                    self.log(f"hub {_mib(row['hub_rss_kib'])} MiB {row['hub_fds']} fds · gateway {_mib(row['gateway_rss_kib'])} MiB "
                             f"{row['gateway_fds']} fds · ok {row['ok']} refused {row['refused']} unexpected {row['unexpected']}")
                    for label, proc in (("hub", self.hub), ("gateway", self.gateway)):
                        if not proc.alive():
                            self.outcomes.record(f"{label} process", "unexpected", None,
                                                 f"the {label} exited {proc.process.returncode} during the soak")
                            raise RuntimeError(f"the {label} died: {proc.log_tail()}")
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(REQUEST_TIMEOUT_S + 5)
            self.run_seconds = time.monotonic() - started
        self.samples.append(self.sample(self.run_seconds))

    def shutdown(self) -> None:
        """SIGTERM the gateway, then the hub: each must exit 0 within 15 s."""
        for label, proc in (("gateway", self.gateway), ("hub", self.hub)):
            if proc is None:
                continue
            seconds, code = proc.terminate(15.0)
            self.stop_results[label] = (seconds, code)
            if seconds is None or code != 0:
                self.outcomes.record(f"{label} SIGTERM", "unexpected", None,
                                     f"{label}: exit {code} after SIGTERM ({'killed after 15 s' if seconds is None else f'{seconds} s'})")
        if self.fastmcp is not None:
            self.fastmcp.terminate(10.0)
        if self.postgres is not None:
            self.pg_log = self.postgres.log_text()

    # ------------------------------------------------------------------ report
    def report(self) -> tuple[str, dict, bool]:
        o = self.options
        warmup = min(120.0, 0.2 * o.minutes * 60.0)
        rows = self.samples
        after = [r for r in rows if r["t"] >= warmup]
        verdicts: list[str] = []
        growth: dict[str, dict] = {}
        span = self.run_seconds or o.minutes * 60.0
        window = min(60.0, max(10.0, 0.2 * span))
        for index, label in ((1, "hub"), (2, "gateway")):
            warm_rows = [f[index] for f in self.fine if warmup <= f[0] < warmup + window and f[index]]
            end_rows = [f[index] for f in self.fine if f[0] >= span - window and f[index]]
            after_rows = [f[index] for f in self.fine if f[0] >= warmup and f[index]]
            if not warm_rows or not end_rows:
                growth[label] = {"warm_kib": None, "end_kib": None, "percent": None}
                continue
            warm, end = int(statistics.median(warm_rows)), int(statistics.median(end_rows))
            fds = [r[f"{label}_fds"] for r in rows if r.get(f"{label}_fds") is not None]
            fds_after = [r[f"{label}_fds"] for r in after if r.get(f"{label}_fds") is not None]
            # Per-minute medians after the warm-up, and the least-squares slope through them.
            minutes: dict[int, list[int]] = {}
            for f in self.fine:
                if f[0] >= warmup and f[index]:
                    minutes.setdefault(int((f[0] - warmup) // 60), []).append(f[index])
            medians = [(k * 60 + 30, statistics.median(v)) for k, v in sorted(minutes.items()) if len(v) >= 20]
            slope = None
            if len(medians) >= 3:
                mean_t = sum(t for t, _ in medians) / len(medians)
                mean_v = sum(v for _, v in medians) / len(medians)
                slope = sum((t - mean_t) * (v - mean_v) for t, v in medians) / sum((t - mean_t) ** 2 for t, _ in medians)
            growth[label] = {
                "minute_medians_kib": [int(v) for _, v in medians],
                "trend_mib_per_hour": round(slope * 3600 / 1024, 1) if slope is not None else None,
                "warm_window_s": [round(warmup), round(warmup + window)], "warm_kib": warm,
                "end_window_s": [round(span - window), round(span)], "end_kib": end,
                "peak_after_warmup_kib": max(after_rows), "floor_after_warmup_kib": min(after_rows),
                "percent": round(100.0 * (end - warm) / warm, 1),
                "start_kib": rows[0].get(f"{label}_rss_kib"),
                "fds_min": min(fds) if fds else None, "fds_max": max(fds) if fds else None,
                "fds_after_warmup_min": min(fds_after) if fds_after else None,
                "fds_after_warmup_max": max(fds_after) if fds_after else None,
                "threads_max": max((r.get(f"{label}_threads") or 0) for r in rows),
            }
        counts = {kind: dict(counter) for kind, counter in sorted(self.outcomes.counts.items())}
        totals = self.outcomes.totals()
        rss_ok = all(g.get("percent") is not None and g["percent"] <= 10.0 for g in growth.values())
        errors_ok = totals["unexpected"] == 0
        if not rss_ok:
            verdicts.append("RSS grew more than 10 % after the warm-up (or was not measured)")
        if not errors_ok:
            verdicts.append(f"{totals['unexpected']} unexpected errors")
        passed = rss_ok and errors_ok
        warnings = {label: _log_levels(proc.log_text()) for label, proc in (("hub", self.hub), ("gateway", self.gateway)) if proc}
        audit_lines = 0
        audit = self.root / "hub" / "audit.jsonl"
        if audit.exists():
            with open(audit, "rb") as file:
                audit_lines = sum(1 for _ in file)
        last = rows[-1]

        lines = [
            f"# Soak: {o.minutes:g} minutes, {o.store} store",
            "",
            f"{time.strftime('%Y-%m-%d %H:%M %Z')} · binary `{self.binary}` ({o.build_note}) · {os.cpu_count()} CPUs, "
            f"{platform.platform()} · load {self.run_seconds:.0f} s · warm-up {warmup:.0f} s · access tokens live "
            f"{self.ttl} s · result: **{'PASS' if passed else 'FAIL: ' + '; '.join(verdicts)}**",
            "",
            "```sh",
            f".venv-interop/bin/python bench/soak/soak.py --binary {o.binary} --minutes {o.minutes:g} --store {o.store}",
            "```",
            "",
            "## Memory and descriptors",
            "",
            f"RSS is read from /proc/PID/status (VmRSS) every second; \"after warm-up\" and \"at the end\" are the medians of "
            f"those readings over {window:.0f} s windows (after the warm-up, and the last {window:.0f} s of the load), so a "
            "short allocation (a sign-in's scrypt takes 32 MiB for a fraction of a second) does not decide it; the floor and "
            "peak are the lowest and highest single readings after the warm-up.",
            "",
            "The trend is the least-squares slope through the per-minute medians after the warm-up (a slow rise a "
            "short run cannot tell from caches filling up).",
            "",
            "| process | RSS at start | RSS after warm-up | RSS at the end | change after warm-up | trend | floor / peak after warm-up | fds min–max (after warm-up) | threads max |",
            "|---|---:|---:|---:|---:|---:|---:|---|---:|",
        ]
        for label, g in growth.items():
            if g.get("warm_kib") is None:
                lines.append(f"| {label} | — | — | — | not measured | — | — | — | — |")
                continue
            lines.append(
                f"| {label} | {_mib(g['start_kib'])} MiB | {_mib(g['warm_kib'])} MiB (t={g['warm_window_s'][0]}–{g['warm_window_s'][1]} s) | "
                f"{_mib(g['end_kib'])} MiB (t={g['end_window_s'][0]}–{g['end_window_s'][1]} s) | {g['percent']:+.1f} % | "
                + (f"{g['trend_mib_per_hour']:+.1f} MiB/h | " if g.get("trend_mib_per_hour") is not None else "— | ")
                + f"{_mib(g['floor_after_warmup_kib'])} / {_mib(g['peak_after_warmup_kib'])} MiB | "
                f"{g['fds_min']}–{g['fds_max']} ({g['fds_after_warmup_min']}–{g['fds_after_warmup_max']}) | {g['threads_max']} |")
        lines += [
            "",
            f"Server-side counters (/metrics) at the end: hub {last.get('hub_requests')} HTTP requests, "
            f"{last.get('hub_5xx')} with a 5xx status; gateway {last.get('gateway_requests')} requests, {last.get('gateway_5xx')} 5xx. "
            f"Audit log: {audit_lines} lines. Shutdown (SIGTERM): "
            + ", ".join(f"{label} exit {code} in {seconds} s" for label, (seconds, code) in self.stop_results.items()) + ".",
            "",
            "Log lines at warning or above: " + "; ".join(
                f"{label}: {sum(v['count'] for v in levels.values())}" for label, levels in warnings.items()) + ".",
            "",
        ]
        for label, levels in warnings.items():
            for message, info in sorted(levels.items(), key=lambda kv: -kv[1]["count"])[:8]:
                lines.append(f"- {label}, {info['count']} × `{message[:160]}`")
        lines += [
            "",
            "## Requests",
            "",
            f"{totals['ok']} expected successes, {totals['refused']} expected refusals, **{totals['unexpected']} unexpected errors** "
            f"({sum(totals.values())} operations, {sum(totals.values()) / max(self.run_seconds, 1):.1f} a second).",
            "",
            "| kind | expected success | expected refusal | unexpected | p50 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for kind, counter in counts.items():
            samples = sorted(self.outcomes.latency.get(kind, []))
            p50 = f"{statistics.median(samples) * 1000:.1f}" if samples else "—"
            p99 = f"{samples[min(len(samples) - 1, int(0.99 * len(samples)))] * 1000:.1f}" if samples else "—"
            peak = f"{samples[-1] * 1000:.1f}" if samples else "—"
            lines.append(f"| {kind} | {counter.get('ok', 0)} | {counter.get('refused', 0)} | {counter.get('unexpected', 0)} | {p50} | {p99} | {peak} |")
        lines += ["", "## Unexpected errors", ""]
        if not self.outcomes.errors:
            lines.append("None.")
        else:
            grouped = collections.Counter((e["kind"], (e["detail"] or "")[:200]) for e in self.outcomes.errors)
            for (kind, detail), count in grouped.most_common(30):
                first_t = next(e["t"] for e in self.outcomes.errors if e["kind"] == kind and (e["detail"] or "")[:200] == detail)
                lines.append(f"- {count} × {kind} (first at t={first_t} s): `{detail}`")
        lines += [
            "",
            f"## Samples (every {o.sample_every:g} s)",
            "",
            "RSS columns: the reading at the sample, then min / median / max of the once-a-second readings since the previous sample.",
            "",
            "| t s | hub RSS MiB | hub RSS min/med/max | hub fds | hub threads | gateway RSS MiB | gateway RSS min/med/max | gateway fds | FastMCP RSS MiB | stdio RSS MiB |"
            + (" PostgreSQL RSS MiB |" if self.postgres else "")
            + " hub requests | hub 5xx | gateway requests | gateway 5xx | sessions open | ok | refused | unexpected |",
            "|" + "---:|" * (19 if self.postgres else 18),
        ]
        for r in rows:
            lines.append(
                f"| {r['t']:.0f} | {_mib(r['hub_rss_kib'])} | {_window(r.get('hub_rss_window'))} | {r['hub_fds']} | {r['hub_threads']} | "
                f"{_mib(r['gateway_rss_kib'])} | {_window(r.get('gateway_rss_window'))} | "
                f"{r['gateway_fds']} | {_mib(r['fastmcp_rss_kib'])} | {_mib(r['stdio_rss_kib'])} | "
                + (f"{_mib(r.get('postgres_rss_kib'))} | " if self.postgres else "")
                + f"{r.get('hub_requests')} | {r.get('hub_5xx')} | {r.get('gateway_requests')} | {r.get('gateway_5xx')} | "
                f"{r.get('hub_sessions_active')} | {r['ok']} | {r['refused']} | {r['unexpected']} |")
        lines += ["", f"Logs of this run: `{LOGS.relative_to(REPO)}/` (hub.log, gateway.log, fastmcp.log, audit.jsonl).", ""]
        document = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "binary": self.binary, "build": o.build_note, "store": o.store,
            "minutes": o.minutes, "load_seconds": round(self.run_seconds, 1), "warmup_seconds": warmup,
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "passed": passed, "verdicts": verdicts,
            "rss": growth, "rss_every_second": self.fine, "counts": counts, "totals": dict(totals), "errors": self.outcomes.errors, "samples": rows,
            "shutdown": {k: list(v) for k, v in self.stop_results.items()}, "log_levels": warnings, "audit_lines": audit_lines,
        }
        return "\n".join(lines), document, passed

    def keep_logs(self) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        for path in [self.root / "hub" / "hub.log", self.root / "gateway" / "gateway.log",
                     self.root / "upstreams" / "fastmcp.log", self.root / "hub" / "audit.jsonl"]:
            if path.exists():
                shutil.copy(path, LOGS / path.name)
        if self.pg_log:
            (LOGS / "postgres.log").write_text(self.pg_log)


def _tree_rss(pid: int | None) -> int | None:
    """RSS of a process and its children (PostgreSQL's backends), KiB."""
    if pid is None:
        return None
    total = procs.rss_kib(pid) or 0
    for child in procs.children_of(pid):
        total += procs.rss_kib(child) or 0
    return total or None


def _mib(kib) -> str:
    return "—" if kib is None else f"{kib / 1024:.1f}"


def _window(values) -> str:
    return "—" if not values else " / ".join(f"{v / 1024:.1f}" for v in values)


def _log_levels(text: str) -> dict[str, dict]:
    """Log lines at warning or above, grouped by their message (the part after the [Module] tag)."""
    found: dict[str, dict] = {}
    for line in text.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4 or parts[1] not in ("warning", "error", "critical"):
            continue
        message = parts[3]
        if "] " in message:
            message = parts[1] + " " + message.split("] ", 1)[1]
        entry = found.setdefault(message, {"count": 0, "first": line[:300]})
        entry["count"] += 1
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="the gatehouse binary")
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of load (default 10)")
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--sample-every", type=float, default=10.0, metavar="S", help="seconds between samples (10)")
    parser.add_argument("--token-ttl", type=int, default=60, help="GATEHOUSE_ACCESS_TOKEN_TTL of the hub (60)")
    parser.add_argument("--login-interval", type=float, default=7.5, metavar="S",
                        help="seconds between sign-ins (7.5; the hub lets one address register 20 clients a minute)")
    parser.add_argument("--output", default=str(RESULTS / "soak-latest.md"), help="the Markdown report (.json beside it)")
    parser.add_argument("--build-note", default="", help="what the binary is, for the report (e.g. 'debug build of 1a65c1c')")
    parser.add_argument("--keep-temp", action="store_true", help="keep the working directories (databases)")
    options = parser.parse_args()
    if not os.access(options.binary, os.X_OK):
        parser.error(f"not an executable: {options.binary}")
    if not options.build_note:
        options.build_note = "debug build" if "/debug/" in str(Path(options.binary).resolve()) else "build type not given"
    procs.install_signal_handlers()
    soak = Soak(options)
    code = 1
    try:
        soak.start()
        soak.run()
        soak.shutdown()
    except KeyboardInterrupt:
        soak.log("interrupted: stopping everything (no report)")
        soak.stop.set()
        procs.stop_everything()
        if not options.keep_temp:
            shutil.rmtree(soak.root, ignore_errors=True)
        return 130
    except Exception as error:  # noqa: BLE001 - reported with what was measured so far
        soak.log(f"stopped early: {type(error).__name__}: {error}")
        soak.outcomes.record("harness", "unexpected", None, f"{type(error).__name__}: {error}"[:500])
        soak.stop.set()
    finally:
        soak.stop.set()
        procs.stop_everything()
    try:
        soak.keep_logs()
        if soak.samples:
            text, document, passed = soak.report()
            output = Path(options.output)
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text)
            output.with_suffix(".json").write_text(json.dumps(document, indent=2) + "\n")
            print(text)
            code = 0 if passed else 1
    finally:
        if not options.keep_temp:
            shutil.rmtree(soak.root, ignore_errors=True)
        else:
            print(f"kept {soak.root}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
