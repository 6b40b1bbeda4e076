#!/usr/bin/env python3
"""Faults injected into running `gatehouse` processes, one at a time, each measured and judged.

    .venv-interop/bin/python bench/soak/faults.py --binary PATH [--only NAME ...] [--output MD]

Each fault is a function that sets up its own processes on 127.0.0.1, injects the fault,
measures what clients and the server do, and asserts what must hold. One line per fault is
printed; bench/results/faults-latest.md (and .json) get the details. Exit status 1 when a fault
FAILs (a real problem: crash, hang, a 5xx where a clear 4xx/503 is due, no recovery).

  jwks_down                   JWT issuer's JWKS endpoint refused, then hanging: cached keys keep
                              serving, an unknown kid is 401, the issuer back: its new key works
  provider_down_during_login  upstream OpenID provider (oidc-provider-mock) stops between its form
                              and the callback: 503 page, client told temporarily_unavailable;
                              provider back: the next login works
  database_locked             another process holds SQLite's write lock past the busy timeout:
                              writes fail cleanly and promptly, reads go on, then it recovers
  database_full               the SQLite database on a full tmpfs (private mount namespace):
                              writes fail cleanly, reads go on, space freed: writes work
  postgres_down               PostgreSQL stopped, then frozen (SIGSTOP), under load: 503 with
                              Retry-After within the store deadline, no crash, recovery by itself
  upstream_killed_mid_stream  the gateway's FastMCP and stdio upstreams SIGKILLed during a call
                              that streams progress: prompt error, down in /healthz, recovery
  slow_body_flood             100 slow bodies and 100 slow heads (bench/hostile's probe helpers):
                              /healthz and tool calls keep answering, all closed at the deadlines
  idle_connection_flood       300 idle connections against a cap of 100: newcomers still served,
                              idle ones closed at the idle deadline, descriptors bounded
  sigterm_in_flight           SIGTERM with tool calls in flight (hub: `wait`; gateway: an upstream
                              call): short ones complete, long ones end at the shutdown timeout,
                              exit 0 in time, no stdio upstream left behind
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import procs  # noqa: E402  (also puts bench/hostile on sys.path)
import httpx2  # noqa: E402
import mcpio  # noqa: E402
import metrics  # noqa: E402
import httpio  # noqa: E402  (bench/hostile)
import issuer as hostile_issuer  # noqa: E402  (bench/hostile)
import jose  # noqa: E402  (bench/hostile)
import oauth  # noqa: E402  (bench/hostile)
from probes import timeouts as hostile_timeouts  # noqa: E402  (bench/hostile/probes)

REPO = procs.REPO
RESULTS = REPO / "bench" / "results"
LOGS = RESULTS / "tmp" / "faults"
STDIO_PEER = HERE / "peers" / "slow_stdio.py"
FASTMCP_PEER = procs.PEERS / "gateway_fastmcp_upstream.py"
HTTP_TIMEOUT_S = 20.0
# SQLiteStore's busy timeout (configuration.busyMode = .timeout(5)).
SQLITE_BUSY_S = 5.0


class Failed(Exception):
    pass


# ======================================================================================
# The context each fault gets
# ======================================================================================


class Fault:
    def __init__(self, name: str, binary: str, root: Path) -> None:
        self.name = name
        self.binary = binary
        self.root = root / name
        self.root.mkdir(parents=True)
        self.root.chmod(0o711)
        self.started = time.monotonic()
        self.measurements: dict[str, Any] = {}
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.evidence: list[str] = []
        self.procs: list[procs.Proc] = []

    def log(self, message: str) -> None:
        print(f"  [{self.name} +{time.monotonic() - self.started:5.1f}s] {message}", file=sys.stderr, flush=True)

    def measure(self, key: str, value: Any) -> Any:
        self.measurements[key] = value
        self.log(f"{key}: {value}")
        return value

    def check(self, condition: bool, problem: str) -> bool:
        if not condition:
            self.problems.append(problem)
            self.log("PROBLEM: " + problem)
        return condition

    def own(self, proc: procs.Proc) -> procs.Proc:
        self.procs.append(proc)
        return proc

    def hub(self, label: str, args: list[str], env: dict[str, str] | None = None, log_level: str = "info",
            command: str = "hub") -> tuple[procs.Proc, int, str]:
        """A gatehouse server (not started) in its own folder with --metrics-port; returns it,
        its port and its metrics URL."""
        port, metrics_port = procs.free_port(), procs.free_port()
        workdir = self.root / label
        server = procs.gatehouse(self.binary, command, label, workdir, port, [*args, "--metrics-port", str(metrics_port)],
                                 env=env, log_level=log_level)
        return self.own(server), port, f"http://127.0.0.1:{metrics_port}/metrics"

    def log_lines(self, proc: procs.Proc, pattern: str, limit: int = 6) -> list[str]:
        """The first `limit` distinct log lines matching `pattern` (distinct once the time, the
        request id and numbers are left out), each with how often it occurred."""
        counts: dict[str, list] = {}
        for line in proc.log_text().splitlines():
            if not re.search(pattern, line):
                continue
            shape = re.sub(r"^\S+ |hb\.request\.id=\S+ |\d+", "", line)
            if shape in counts:
                counts[shape][1] += 1
            else:
                counts[shape] = [line, 1]
        return [f"{line}" + (f"   (× {n})" if n > 1 else "") for line, n in list(counts.values())[:limit]]


# ======================================================================================
# Helpers
# ======================================================================================


def auto_login(base: str, resource: str | None = None) -> tuple[str, dict]:
    """A --dev-auto-approve hub: register, GET /authorize (303 with the code), POST /token."""
    client_id = oauth.register_client(base)
    verifier = oauth.new_verifier()
    answer = httpio.get(base, oauth.authorize_path(client_id, verifier, resource or base + "/mcp"), timeout=HTTP_TIMEOUT_S)
    params = oauth.redirect_params(answer)
    if not params or "code" not in params:
        raise Failed(f"auto-approved /authorize gave no code: HTTP {answer.status} {answer.text()[:200]!r}")
    tokens = oauth.exchange(base, client_id, params["code"], verifier, resource or base + "/mcp")
    if tokens.status != 200:
        raise Failed(f"/token: HTTP {tokens.status} {tokens.text()[:200]}")
    return client_id, tokens.json()


def timed(fn: Callable[[], Any]) -> tuple[Any, float, str | None]:
    """(result, seconds, error text) of fn()."""
    started = time.monotonic()
    try:
        return fn(), time.monotonic() - started, None
    except Exception as error:  # noqa: BLE001
        return None, time.monotonic() - started, f"{type(error).__name__}: {error}"


def describe(answer: mcpio.Answer | None, error: str | None = None) -> str:
    if error:
        return error
    if answer is None:
        return "nothing"
    what = f"HTTP {answer.status}"
    if answer.headers.get("retry-after"):
        what += f" Retry-After {answer.headers['retry-after']}"
    if answer.error:
        what += f" JSON-RPC {answer.error.get('code')} {answer.error.get('message', '')[:100]!r}"
    elif answer.result is not None:
        text = mcpio.first_text(answer) or ""
        what += (" tool error " if answer.result.get("isError") else " ok ") + repr(text[:80])
    elif answer.status >= 300:
        what += " " + repr(answer.text()[:120])
    return what


def healthz_ms(base: str, timeout: float = 5.0) -> float | None:
    seconds = httpio.healthz_seconds(base, timeout=timeout)
    return None if seconds is None else round(seconds * 1000, 1)


def gateway_healthz(base: str) -> dict[str, str]:
    try:
        body = httpx2.get(base + "/healthz", timeout=5.0).json()
        return {line["name"]: line["status"] for line in body.get("upstreams", [])}
    except Exception as error:  # noqa: BLE001
        return {"error": f"{type(error).__name__}: {error}"}


class PortIssuer(hostile_issuer.Issuer):
    """bench/hostile's JWT issuer (RFC 8414 metadata, a JWKS it can rotate), bound to a chosen
    port so it can be stopped and started again at the same URL."""

    def __init__(self, port: int = 0, keys: list | None = None) -> None:  # noqa: D107 - mirrors Issuer
        self.lock = threading.Lock()
        self.keys = list(keys or [])
        self.fetches = []
        handler = type("Handler", (hostile_issuer._Handler,), {"issuer": self})
        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="issuer", daemon=True)


class Blackhole:
    """A listening socket that never accepts: connections complete (the backlog) and then
    nothing is ever answered, like a provider that hangs."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)

    def close(self) -> None:
        self.sock.close()


# ======================================================================================
# jwks_down
# ======================================================================================


def jwks_down(f: Fault) -> None:
    key_a, key_b = jose.ES256Key("key-a"), jose.ES256Key("key-b")
    issuer = PortIssuer(keys=[key_a]).start()
    port = issuer.server.server_address[1]
    cache_ttl = 5
    server, hub_port, metrics_url = f.hub("hub", ["--jwt-issuer", issuer.url],
                                          env={"GATEHOUSE_JWKS_CACHE_TTL": str(cache_ttl)})
    server.start()
    mcp = f"http://127.0.0.1:{hub_port}/mcp"

    def token(key, kid=None) -> str:
        return key.sign(jose.claims(issuer.url, mcp, subject="jwks-user"), kid=kid)

    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        first = mcpio.call(http, mcp, token(key_a), "whoami", {})
        f.check(first.status == 200, f"first call with the issuer up: {describe(first)}")
        f.measure("JWKS fetches before the outage", len(issuer.fetches))
        issuer.stop()
        f.log("issuer stopped (connection refused)")

        def calls(seconds: float, label: str) -> None:
            statuses: dict[str, int] = {}
            latencies: list[float] = []
            began = time.monotonic()
            until = began + seconds
            while time.monotonic() < until:
                answer, took, error = timed(lambda: mcpio.call(http, mcp, token(key_a), "add", {"a": 2, "b": 3}))
                key = describe(answer, error) if error or answer.status != 200 or mcpio.structured(answer) != {"result": 5} else "200 ok"
                statuses[key] = statuses.get(key, 0) + 1
                latencies.append(took)
                time.sleep(0.25)
            stalled = [t for t in latencies if t > 1.0]
            f.measure(f"{label}: fresh key-A tokens (answers)", statuses)
            f.measure(f"{label}: latency", f"median {sorted(latencies)[len(latencies) // 2] * 1000:.1f} ms, slowest {max(latencies) * 1000:.0f} ms, "
                      f"{len(stalled)} of {len(latencies)} over 1 s ({sum(stalled):.1f} s of the {time.monotonic() - began:.1f} s spent waiting)")
            f.check(list(statuses) == ["200 ok"], f"{label}: tokens of the cached key were not all accepted: {statuses}")
            if stalled:
                f.notes.append(f"{label}: requests with tokens of a cached key waited for the JWKS fetch in flight "
                               f"({len(stalled)} of {len(latencies)} over 1 s, up to {max(latencies):.1f} s)")

        # The cache TTL (5 s) runs out during the outage: the last good keys must stay in use.
        calls(cache_ttl * 2.5, "issuer refused")
        unknown, took, error = timed(lambda: mcpio.call(http, mcp, token(key_b), "add", {"a": 2, "b": 3}))
        f.measure("issuer refused: unknown kid", f"{describe(unknown, error)} in {took:.2f} s")
        f.check(unknown is not None and unknown.status == 401 and "invalid_token" in mcpio.www_authenticate(unknown),
                f"unknown kid during the outage: {describe(unknown, error)} (expected 401 invalid_token)")
        f.check(took < 5.0, f"unknown kid during the outage took {took:.1f} s")

        # A provider that hangs instead (accepts, never answers): fetches wait for their 5 s timeout.
        hole = Blackhole(port)
        f.log("issuer port now a black hole (accepts, never answers)")
        try:
            calls(12.0, "issuer hanging")
            unknown, took, error = timed(lambda: mcpio.call(http, mcp, token(key_b), "add", {"a": 2, "b": 3}))
            f.measure("issuer hanging: unknown kid", f"{describe(unknown, error)} in {took:.2f} s")
            f.check(unknown is not None and unknown.status == 401, f"unknown kid while the issuer hangs: {describe(unknown, error)}")
            f.check(took < 8.0, f"unknown kid while the issuer hangs took {took:.1f} s (provider timeout is 5 s)")
        finally:
            hole.close()

        back = PortIssuer(port, keys=[key_a, key_b]).start()
        f.log("issuer back with key-a and key-b")
        try:
            started = time.monotonic()
            accepted_after = None
            last = ""
            while time.monotonic() - started < 15:
                answer, _, error = timed(lambda: mcpio.call(http, mcp, token(key_b), "add", {"a": 2, "b": 3}))
                last = describe(answer, error)
                if answer is not None and answer.status == 200:
                    accepted_after = round(time.monotonic() - started, 2)
                    break
                time.sleep(0.25)
            f.measure("issuer back: key-B token accepted after s", accepted_after if accepted_after is not None else f"never (last {last})")
            f.check(accepted_after is not None and accepted_after < 5.0, f"the new key was not accepted within 5 s (last {last})")
            again = mcpio.call(http, mcp, token(key_a), "add", {"a": 2, "b": 3})
            f.check(again.status == 200, f"key A after the issuer came back: {describe(again)}")
        finally:
            back.stop()
    scraped = metrics.scrape(metrics_url)
    if scraped:
        f.measure("JWKS fetches (metrics: ok, failed)", (scraped.total("gatehouse_provider_fetches_total", kind="jwks", outcome="ok"),
                                                          scraped.total("gatehouse_provider_fetches_total", kind="jwks", outcome="failed")))
        f.measure("hub 5xx answers", scraped.server_errors())
        f.check(scraped.server_errors() == 0, f"the hub answered {scraped.server_errors():g} requests with a 5xx")
    f.evidence += f.log_lines(server, r"JWKS|jwks")
    f.check(server.alive(), "the hub died")


# ======================================================================================
# provider_down_during_login
# ======================================================================================


def provider_down_during_login(f: Fault) -> None:
    provider_port = procs.free_port()
    provider_dir = f.root / "provider"

    def provider() -> procs.Proc:
        return f.own(procs.Proc("provider", [procs.PYTHON, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port",
                                             str(provider_port)], provider_dir,
                                env=procs.clean_env(NO_COLOR="1", PYTHONWARNINGS="ignore"),
                                health_url=f"http://127.0.0.1:{provider_port}/.well-known/openid-configuration"))

    idp = provider().start()
    issuer_url = f"http://127.0.0.1:{provider_port}"
    server, port, metrics_url = f.hub("hub", [
        "--env", f"GATEHOUSE_UPSTREAM_ISSUER={issuer_url}", "--env", "GATEHOUSE_UPSTREAM_CLIENT_ID=gatehouse-at-the-mock",
        "--env", "GATEHOUSE_UPSTREAM_NAME=Mock IdP"], env={"GATEHOUSE_UPSTREAM_CLIENT_SECRET": "mock-client-secret"})
    server.start()
    base = f"http://127.0.0.1:{port}"

    def until_provider_redirect(http: httpx2.Client, sub: str) -> tuple[str, str, str]:
        """Consent page, approve, the provider's form; returns (callback URL, client id, verifier)."""
        client_id = oauth.register_client(base)
        verifier = oauth.new_verifier()
        path = oauth.authorize_path(client_id, verifier, base + "/mcp")
        path = re.sub(r"state=[^&]*", "state=client-state", path)
        page = http.get(base + path)
        if page.status_code != 200 or "Continue with Mock IdP" not in page.text:
            raise Failed(f"consent page: HTTP {page.status_code} {page.text[:200]!r}")
        hidden = dict(re.findall(r'name="(request_id|csrf_token)" value="([^"]*)"', page.text))
        to_provider = http.post(base + "/authorize", data={**hidden, "decision": "approve"})
        if to_provider.status_code != 303:
            raise Failed(f"approve: HTTP {to_provider.status_code} {to_provider.text[:200]!r}")
        back = http.post(to_provider.headers["location"], data={"sub": sub})
        if back.status_code != 302:
            raise Failed(f"provider form: HTTP {back.status_code} {back.text[:200]!r}")
        return back.headers["location"], client_id, verifier

    with httpx2.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as http:
        callback, client_id, verifier = until_provider_redirect(http, "stranded")
        seconds, code = idp.terminate(10.0)
        f.log(f"provider stopped after its form, before the callback (exit {code} in {seconds} s)")
        answer, took, error = timed(lambda: http.get(callback))
        if answer is None:
            f.check(False, f"callback with the provider down: {error} after {took:.1f} s")
        else:
            link = re.search(r'href="([^"]+)"', answer.text)
            params = {k: v[0] for k, v in parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query).items()} if link else {}
            f.measure("callback with the provider down", f"HTTP {answer.status_code} in {took:.2f} s, "
                      f"'cannot be reached' in page: {'cannot be reached' in answer.text}, link error={params.get('error')} "
                      f"state={params.get('state')}")
            f.check(answer.status_code == 503, f"callback with the provider down: HTTP {answer.status_code} (expected 503)")
            f.check(params.get("error") == "temporarily_unavailable" and params.get("state") == "client-state",
                    f"the page's link back to the client: {params}")
            f.check(took < 7.0, f"the callback took {took:.1f} s")
        # A sign-in started while the provider is down: the consent page's approve still redirects there
        # (the browser, not the hub, would fail to reach it).
        client = oauth.register_client(base)
        v2 = oauth.new_verifier()
        page, took, error = timed(lambda: http.get(base + oauth.authorize_path(client, v2, base + "/mcp")))
        f.measure("new sign-in page while the provider is down", describe(None, error) if error else f"HTTP {page.status_code} in {took:.2f} s")

        idp = provider().start()
        f.log("provider started again on the same port")
        started = time.monotonic()
        ok_after, last = None, ""
        while time.monotonic() - started < 20:
            try:
                callback, client_id, verifier = until_provider_redirect(http, "returning")
                done = http.get(callback)
                params = {k: v[0] for k, v in parse_qs(urlsplit(done.headers.get("location", "")).query).items()}
                if done.status_code == 303 and "code" in params:
                    tokens = oauth.exchange(base, client_id, params["code"], verifier, base + "/mcp")
                    login_client = client_id
                    if tokens.status == 200:
                        who = mcpio.call(http, base + "/mcp", tokens.json()["access_token"], "whoami", {})
                        if who.status == 200:
                            ok_after = round(time.monotonic() - started, 2)
                            break
                        last = f"whoami {describe(who)}"
                    else:
                        last = f"/token HTTP {tokens.status} {tokens.text()[:150]!r}"
                else:
                    last = f"callback HTTP {done.status_code} {done.text[:200]!r}"
            except Exception as error:  # noqa: BLE001
                last = f"{type(error).__name__}: {error}"
            time.sleep(0.5)
        f.measure("provider back: a full login works after s", ok_after if ok_after is not None else f"never in 20 s (last: {last})")
        f.check(ok_after is not None, f"no login worked within 20 s of the provider coming back (last: {last})")
        login_tokens = tokens.json() if ok_after is not None else None

        # The provider hangs (SIGSTOP: its socket accepts, nothing answers; its memory, the refresh tokens
        # it issued, is kept) at the callback and during a refresh: bounded by the 5 s provider timeout.
        callback, client_id, verifier = until_provider_redirect(http, "hanging")
        os.kill(idp.pid, signal.SIGSTOP)
        f.log("provider frozen (SIGSTOP)")
        try:
            answer, took, error = timed(lambda: http.get(callback))
            f.measure("callback with the provider hanging", describe(None, error) if error else f"HTTP {answer.status_code} in {took:.2f} s")
            f.check(answer is not None and answer.status_code == 503 and took < 8.0,
                    f"callback with the provider hanging: {describe(None, error) if error else answer.status_code} after {took:.1f} s")
            # A refresh asks the provider too (GATEHOUSE_UPSTREAM_RECHECK): a provider that cannot be
            # asked must not end the login.
            if login_tokens:
                refreshed, took, error = timed(lambda: oauth.refresh(base, login_client, login_tokens["refresh_token"], timeout=HTTP_TIMEOUT_S))
                f.measure("refresh with the provider hanging", describe(None, error) if error else
                          f"HTTP {refreshed.status} {refreshed.text()[:140]!r} in {took:.2f} s")
                f.check(refreshed is not None and refreshed.status in (200, 503) and took < 8.0,
                        f"refresh with the provider hanging: {describe(None, error) if error else refreshed.status} after {took:.1f} s")
                if refreshed is not None and refreshed.status == 200:
                    login_tokens = refreshed.json()
        finally:
            os.kill(idp.pid, signal.SIGCONT)
        f.log("provider thawed (SIGCONT)")
        if login_tokens:
            later, took, error = timed(lambda: oauth.refresh(base, login_client, login_tokens["refresh_token"], timeout=HTTP_TIMEOUT_S))
            f.measure("refresh once the provider answers again", describe(None, error) if error else f"HTTP {later.status} {later.text()[:140]!r}")
            f.check(later is not None and later.status == 200,
                    f"the login did not survive the provider outage: refresh afterwards {describe(None, error) if error else later.status}")
    f.evidence += f.log_lines(server, r"upstream_unavailable|warning|error")
    scraped = metrics.scrape(metrics_url)
    if scraped:
        f.measure("hub 5xx answers (metrics, by route)", {k[0] + " " + k[1]: v for k, v in scraped.by(
            "gatehouse_http_requests_total", "route", "status").items() if k[1].startswith("5")})
    f.check(server.alive(), "the hub died")


# ======================================================================================
# database_locked
# ======================================================================================

LOCK_HOLDER = r"""
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("ROLLBACK")
print("released", flush=True)
"""


def database_locked(f: Fault) -> None:
    """Two locks held by another process (BEGIN EXCLUSIVE; WAL readers go on):
    1. 8 s, one write at a time: the write must fail cleanly after the busy timeout (5 s),
       reads must go on.
    2. 17 s, five writes at once (3 notes_add, then a refresh, then a registration): each must
       still be answered within the busy timeout, not after the writes queued before it; and
       the refresh token presented in the queue, presented again right after its answer, must
       get the same successor (the 10 s reuse grace) instead of revoking the login."""
    database = f.root / "hub" / "hub.db"
    server, port, metrics_url = f.hub("hub", ["--dev-auto-approve", "--database-path", str(database)], log_level="debug")
    server.start()
    base, mcp = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/mcp"
    client_id, tokens = auto_login(base)
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        added = mcpio.call(http, mcp, access, "add_tool", {"tool_name": "notes", "config": {}})
        f.check(added.status == 200 and not mcpio.is_tool_error(added), f"add_tool: {describe(added)}")
        f.check(mcpio.call(http, mcp, access, "notes_add", {"text": "before"}).status == 200, "notes_add before the lock")

    def hold(seconds: float) -> subprocess.Popen:
        holder = subprocess.Popen([procs.PYTHON, "-c", LOCK_HOLDER, str(database), str(seconds)], stdout=subprocess.PIPE, text=True)
        line = holder.stdout.readline().strip()
        f.check(line == "locked", f"the lock holder said {line!r}")
        f.log(f"another process holds BEGIN EXCLUSIVE on the database for {seconds:g} s")
        return holder

    results: dict[str, tuple[Any, float, str | None]] = {}

    def probe(label: str, fn: Callable[[], Any]) -> None:
        results[label] = timed(fn)

    def show(label: str) -> tuple[str, int | None, bool, float]:
        answer, took, error = results[label]
        if isinstance(answer, httpio.Response):
            text, code = f"HTTP {answer.status} {answer.text()[:140]!r}", answer.status
            clean = code in (500, 503) and answer.body.startswith(b"{")
        elif isinstance(answer, mcpio.Answer):
            text, code = describe(answer), answer.status
            clean = (code in (500, 503) and bool(answer.error)) or (code == 200 and (bool(answer.error) or mcpio.is_tool_error(answer)))
        else:
            text, code, clean = describe(None, error), None, False
        f.measure(label, f"{text} after {took:.2f} s")
        return text, code, clean, took

    def concurrently(jobs: list[tuple[str, Callable[[], Any], float]]) -> None:
        threads = []
        for label, fn, delay in jobs:
            thread = threading.Thread(target=lambda l=label, g=fn, d=delay: (time.sleep(d), probe(l, g)), daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join(60)

    def client() -> httpx2.Client:
        return httpx2.Client(timeout=60.0)

    # --- 1. one write at a time
    holder = hold(8)
    try:
        concurrently([
            ("lock 1: notes_add (write)", lambda: mcpio.call(client(), mcp, access, "notes_add", {"text": "during lock 1"}), 0),
            ("lock 1: notes_list (read)", lambda: mcpio.call(client(), mcp, access, "notes_list", {}), 0.2),
            ("lock 1: whoami (cached user)", lambda: mcpio.call(client(), mcp, access, "whoami", {}), 0.2),
            ("lock 1: /healthz", lambda: httpio.get(base, "/healthz", timeout=30), 0.2),
        ])
        text, code, clean, took = show("lock 1: notes_add (write)")
        f.check(clean and took <= SQLITE_BUSY_S + 2, f"lock 1: a lone write got {text} after {took:.1f} s (expected a clean error within ~{SQLITE_BUSY_S:g} s)")
        for label in ("lock 1: notes_list (read)", "lock 1: whoami (cached user)", "lock 1: /healthz"):
            text, code, clean, took = show(label)
            f.check(code == 200 and took < 2.0 and "error" not in text, f"{label}: {text} after {took:.1f} s")
        holder.wait(timeout=20)
    finally:
        if holder.poll() is None:
            holder.kill()
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        after, took, error = timed(lambda: mcpio.call(http, mcp, access, "notes_add", {"text": "after lock 1"}))
        f.measure("after lock 1: notes_add", f"{describe(after, error)} in {took:.2f} s")
        f.check(after is not None and after.status == 200 and not mcpio.is_tool_error(after), f"notes_add after lock 1: {describe(after, error)}")

    # --- 2. writes queued behind each other
    hold_s = 17.0
    holder = hold(hold_s)
    try:
        jobs = [(f"lock 2: notes_add #{i} (write)", (lambda i=i: mcpio.call(client(), mcp, access, "notes_add", {"text": f"queued {i}"})), 0.1 * i)
                for i in range(1, 4)]
        jobs.append(("lock 2: refresh on /token (write)", lambda: oauth.refresh(base, client_id, refresh, timeout=60), 0.5))
        jobs.append(("lock 2: /register (write)", lambda: oauth.register(base, timeout=60), 0.7))
        concurrently(jobs)
        f.check(server.alive(), "the hub died while the database was locked")
        for label, _, _ in jobs:
            text, code, clean, took = show(label)
            f.check(took <= SQLITE_BUSY_S + 2,
                    f"{label} was answered after {took:.1f} s ({text[:60]}); the busy timeout is {SQLITE_BUSY_S:g} s: "
                    "writes wait for the ones queued before them")
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
    answer, took, _ = results["lock 2: refresh on /token (write)"]
    if isinstance(answer, httpio.Response) and answer.status == 200:
        successor = answer.json()["refresh_token"]
        again = oauth.refresh(base, client_id, refresh, timeout=HTTP_TIMEOUT_S)
        f.measure("the same refresh token presented again right after that answer",
                  f"HTTP {again.status} {again.text()[:160]!r}")
        f.check(again.status == 200 and again.json().get("refresh_token") == successor,
                f"presented again {0.1:.1f} s after its rotation was answered (grace 10 s), the token revoked the login: "
                f"HTTP {again.status} {again.text()[:160]!r}; the rotation took {took:.1f} s in the store, and it is dated "
                "from when the request began")
        follow = oauth.refresh(base, client_id, successor, timeout=HTTP_TIMEOUT_S)
        f.measure("the successor it was given, presented next", f"HTTP {follow.status} {follow.text()[:120]!r}")
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        after, took, error = timed(lambda: mcpio.call(http, mcp, access, "notes_add", {"text": "after lock 2"}))
        f.measure("after lock 2: notes_add", f"{describe(after, error)} in {took:.2f} s")
        f.check(after is not None and after.status == 200 and not mcpio.is_tool_error(after), f"notes_add after lock 2: {describe(after, error)}")
    f.evidence += f.log_lines(server, r"(error|warning).*|database is locked|SQLite error", 10)
    scraped = metrics.scrape(metrics_url)
    if scraped:
        f.measure("store errors (metrics)", scraped.by("gatehouse_store_errors_total", "backend", "kind"))
        f.measure("HTTP 5xx by route (metrics)", {f"{k[0]} {k[1]}": v for k, v in scraped.by(
            "gatehouse_http_requests_total", "route", "status").items() if k[1].startswith("5")})
    f.check(server.alive(), "the hub died")


# ======================================================================================
# database_full
# ======================================================================================


def database_full(f: Fault) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("nsenter") is None:
        raise NotMeasured("needs root, unshare and nsenter (a private mount namespace with a small tmpfs)")
    mount = f.root / "tiny"
    mount.mkdir()
    database = mount / "hub.db"
    port, metrics_port = procs.free_port(), procs.free_port()
    size = "4m"
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            f'mount -t tmpfs -o size={size},mode=0700 tmpfs "$0" && exec "$@"', str(mount),
            f.binary, "hub", "--host", "127.0.0.1", "--port", str(port), "--log-level", "info", "--dev-auto-approve",
            "--database-path", str(database), "--metrics-port", str(metrics_port)]
    server = f.own(procs.Proc("hub", argv, f.root / "hub", health_url=f"http://127.0.0.1:{port}/healthz"))
    server.start()
    base, mcp = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/mcp"

    def inside(script: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
        """A shell command in the hub's mount namespace (where the tmpfs is)."""
        return subprocess.run(["nsenter", "--target", str(server.pid), "--mount", "--", "sh", "-c", script],
                              capture_output=True, text=True, timeout=timeout)

    df = inside(f"df -k {mount} | tail -1").stdout.split()
    f.measure("tmpfs (KiB size, used) before", (df[1], df[2]) if len(df) > 3 else df)
    client_id, tokens = auto_login(base)
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        f.check(mcpio.call(http, mcp, access, "add_tool", {"tool_name": "notes", "config": {"max_notes": 10000}}).status == 200, "add_tool")
        f.check(mcpio.call(http, mcp, access, "notes_add", {"text": "before"}).status == 200, "notes_add before the disk filled")
        filled = inside(f"cat /dev/zero > {mount}/filler; ls -l {mount}; df -k {mount} | tail -1")
        f.measure("filled the tmpfs", filled.stdout.strip().splitlines()[-1] if filled.stdout.strip() else filled.stderr)
        text = "x" * 8000
        writes: dict[str, int] = {}
        first_failure = None
        slowest = 0.0
        for attempt in range(60):
            answer, took, error = timed(lambda: mcpio.call(http, mcp, access, "notes_add", {"text": text}))
            slowest = max(slowest, took)
            key = describe(answer, error)
            key = re.sub(r"#\d+", "#N", key)
            writes[key] = writes.get(key, 0) + 1
            failed = answer is None or answer.status != 200 or answer.error or mcpio.is_tool_error(answer)
            if failed and first_failure is None:
                first_failure = attempt
            if not server.alive():
                break
        f.measure("disk full: 60 notes_add of 8 KB (answers)", writes)
        f.measure("disk full: first failing write (index)", first_failure)
        f.measure("disk full: slowest write ms", round(slowest * 1000, 1))
        f.check(server.alive(), f"the hub died with the disk full: {server.log_tail(15)}")
        f.check(first_failure is not None, "no write failed with the disk full (the filler did not fill it?)")
        bad = [k for k in writes if k.startswith("HTTP 5") and "JSON-RPC" not in k]
        f.check(not [k for k in writes if k.startswith(("ReadTimeout", "ConnectError", "RemoteProtocolError"))],
                f"writes with the disk full did not get an answer: {writes}")
        f.check(not bad, f"writes with the disk full got a 5xx without a JSON-RPC error: {bad}")
        reads: dict[str, int] = {}
        for _ in range(5):
            answer, took, error = timed(lambda: mcpio.call(http, mcp, access, "notes_list", {"limit": 2}))
            key = "200 ok" if answer is not None and answer.status == 200 and not answer.error and not mcpio.is_tool_error(answer) else describe(answer, error)
            reads[key] = reads.get(key, 0) + 1
            answer, took, error = timed(lambda: mcpio.call(http, mcp, access, "whoami", {}))
            key = "200 ok (whoami)" if answer is not None and answer.status == 200 else describe(answer, error)
            reads[key] = reads.get(key, 0) + 1
        f.measure("disk full: reads (notes_list, whoami)", reads)
        f.check(set(reads) <= {"200 ok", "200 ok (whoami)"}, f"reads with the disk full: {reads}")
        token_answer = oauth.refresh(base, client_id, refresh, timeout=HTTP_TIMEOUT_S)
        f.measure("disk full: refresh", f"HTTP {token_answer.status} {token_answer.text()[:120]!r}")
        f.check(token_answer.status in (200, 500, 503), f"refresh with the disk full: HTTP {token_answer.status}")
        if token_answer.status == 200:
            refresh = token_answer.json()["refresh_token"]
        registered = oauth.register(base, timeout=HTTP_TIMEOUT_S)
        f.measure("disk full: /register", f"HTTP {registered.status} {registered.text()[:120]!r}")
        f.check(registered.status in (201, 500, 503) and registered.body.startswith(b"{"), f"/register with the disk full: HTTP {registered.status}")
        inside(f"rm -f {mount}/filler")
        f.log("filler removed")
        after, took, error = timed(lambda: mcpio.call(http, mcp, access, "notes_add", {"text": "after"}))
        f.measure("space freed: notes_add", f"{describe(after, error)} in {took:.2f} s")
        f.check(after is not None and after.status == 200 and not after.error and not mcpio.is_tool_error(after),
                f"notes_add after freeing space: {describe(after, error)}")
        again = oauth.refresh(base, client_id, refresh, timeout=HTTP_TIMEOUT_S)
        f.measure("space freed: refresh", f"HTTP {again.status}")
        f.check(again.status == 200, f"refresh after freeing space: HTTP {again.status} {again.text()[:150]!r}")
    check = inside(f"{procs.PYTHON} -c \"import sqlite3; print(sqlite3.connect('file:{database}?mode=ro', uri=True)"
                   f".execute('pragma integrity_check').fetchone()[0])\"")
    f.measure("integrity_check while it runs", (check.stdout or check.stderr).strip()[:200])
    f.check(check.stdout.strip() == "ok", f"integrity_check: {check.stdout}{check.stderr}")
    f.evidence += f.log_lines(server, r"(error|warning|critical)", 8)
    seconds, code = server.terminate(15.0)
    f.measure("SIGTERM afterwards", f"exit {code} in {seconds} s")
    f.check(code == 0, f"exit code after SIGTERM: {code}")


class NotMeasured(Exception):
    pass


# ======================================================================================
# postgres_down
# ======================================================================================


def postgres_down(f: Fault) -> None:
    postgres = procs.Postgres(f.root / "pg").start()
    f.log(f"PostgreSQL on port {postgres.port}")
    connect_timeout = 5.0
    deadline = connect_timeout + 5.0  # docs/configuration.md: connect timeout plus 5 s, then 503
    server, port, metrics_url = f.hub("hub", ["--dev-auto-approve", "--database-url", postgres.url],
                                      env={"GATEHOUSE_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode()})
    server.start()
    base, mcp = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/mcp"
    client_id, tokens = auto_login(base)
    state = {"access": tokens["access_token"], "refresh": tokens["refresh_token"]}
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        f.check(mcpio.call(http, mcp, state["access"], "add_tool", {"tool_name": "notes", "config": {"max_notes": 10000}}).status == 200,
                "add_tool")
    log: list[tuple[float, str, str, float, bool]] = []  # (t started, op, what, seconds, clean)
    lock = threading.Lock()
    stop = threading.Event()
    t0 = time.monotonic()

    def record(op: str, began: float, answer, took: float, error: str | None) -> None:
        if isinstance(answer, httpio.Response):
            what = f"HTTP {answer.status}" + (f" Retry-After {answer.headers.get('retry-after')}" if answer.headers.get("retry-after") else "")
            if answer.status >= 400:
                what += " " + (json.loads(answer.body).get("error", "") if answer.body.startswith(b"{") else "")
            ok = answer.status in (200, 201)
            clean = ok or (answer.status == 503 and bool(answer.headers.get("retry-after")))
        elif isinstance(answer, mcpio.Answer):
            what = re.sub(r"#\d+", "#N", describe(answer))
            ok = answer.status == 200 and not answer.error and not mcpio.is_tool_error(answer)
            clean = ok or (answer.status == 503 and bool(answer.headers.get("retry-after"))) or (
                answer.status == 200 and (bool(answer.error) or mcpio.is_tool_error(answer)))
        else:
            what, ok, clean = describe(None, error), False, False
        with lock:
            log.append((began - t0, op, what, took, clean))

    def load(op: str) -> None:
        with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
            while not stop.is_set():
                began = time.monotonic()
                if op in ("notes_add", "notes_list", "whoami"):
                    arguments = {"notes_add": {"text": "load"}, "notes_list": {"limit": 3}, "whoami": {}}[op]
                    answer, took, error = timed(lambda: mcpio.call(http, mcp, state["access"], op, arguments))
                elif op == "refresh":
                    answer, took, error = timed(lambda: oauth.refresh(base, client_id, state["refresh"], timeout=HTTP_TIMEOUT_S))
                    if answer is not None and answer.status == 200:
                        values = answer.json()
                        state["access"], state["refresh"] = values["access_token"], values["refresh_token"]
                else:
                    answer, took, error = timed(lambda: oauth.register(base, timeout=HTTP_TIMEOUT_S))
                record(op, began, answer, took, error)
                stop.wait(0.3 if op in ("notes_add", "notes_list", "whoami") else 2.0)

    threads = [threading.Thread(target=load, args=(k,), daemon=True) for k in ("notes_add", "notes_list", "whoami", "refresh", "register")]
    for thread in threads:
        thread.start()
    phases: dict[str, tuple[float, float]] = {}
    try:
        time.sleep(3)
        down_at = time.monotonic() - t0
        took = postgres.pause("fast")
        f.log(f"PostgreSQL stopped (pg_ctl stop -m fast, {took:.1f} s)")
        time.sleep(20)
        up_at = time.monotonic() - t0
        postgres.resume()
        f.log("PostgreSQL started again")
        phases["stopped"] = (down_at, up_at)
        time.sleep(8)
        # Frozen: the server and its backends stopped (SIGSTOP), connections open but silent.
        pids = [p for p in [postgres.postmaster_pid()] if p] + procs.children_of(postgres.postmaster_pid() or 0)
        frozen_at = time.monotonic() - t0
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        f.log(f"PostgreSQL frozen (SIGSTOP to {len(pids)} processes)")
        try:
            time.sleep(20)
        finally:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        thawed_at = time.monotonic() - t0
        f.log("PostgreSQL thawed (SIGCONT)")
        phases["frozen"] = (frozen_at, thawed_at)
        time.sleep(10)
    finally:
        stop.set()
        for thread in threads:
            thread.join(HTTP_TIMEOUT_S + 5)
    end = time.monotonic() - t0

    def summary(start: float, stop_t: float) -> dict[str, Any]:
        rows = [r for r in log if start <= r[0] < stop_t]
        kinds: dict[str, int] = {}
        for _, op, what, _, _ in rows:
            key = f"{op}: {what}"
            kinds[key] = kinds.get(key, 0) + 1
        return {"answers": kinds, "slowest_s": round(max((r[3] for r in rows), default=0.0), 2),
                "unclean": [f"t={r[0]:.1f} {r[1]}: {r[2]} ({r[3]:.1f} s)" for r in rows if not r[4]][:8]}

    for phase, (start, stop_t) in phases.items():
        s = summary(start, stop_t)
        f.measure(f"PostgreSQL {phase} ({stop_t - start:.0f} s): answers", s["answers"])
        f.measure(f"PostgreSQL {phase}: slowest answer s", s["slowest_s"])
        f.measure(f"PostgreSQL {phase}: timeline (start t, request, seconds, answer; whoami left out)",
                  [f"{r[0]:.1f} {r[1]} {r[3]:.1f} s {r[2][:70]}" for r in log if start <= r[0] < stop_t and r[1] != "whoami"])
        f.check(s["slowest_s"] <= deadline + 3.0, f"PostgreSQL {phase}: an answer took {s['slowest_s']} s (store deadline {deadline:g} s)")
        f.check(not s["unclean"], f"PostgreSQL {phase}: answers other than success or 503 with Retry-After: {s['unclean']}")
        tool_errors = sum(n for k, n in s["answers"].items() if "tool error" in k)
        if tool_errors:
            f.notes.append(f"PostgreSQL {phase}: {tool_errors} tools/call answered HTTP 200 with a tool error (isError) after the store deadline, "
                           "not 503 with Retry-After")
    # Recovery: from each phase's end, the first notes_add that succeeded.
    for phase, (_, stop_t) in phases.items():
        later = [r for r in log if r[0] >= stop_t and r[1] == "notes_add" and r[2].startswith("HTTP 200 ok")]
        recovered = round(later[0][0] - stop_t, 2) if later else None
        f.measure(f"after {phase}: first successful write after s", recovered if recovered is not None else "never")
        f.check(recovered is not None and recovered < 15.0, f"no successful write within 15 s after PostgreSQL {phase} ended")
    tail = summary(max(end - 4, 0), end)
    f.measure("last 4 s: answers", tail["answers"])
    f.check(all(k.split(": ", 1)[1].startswith("HTTP 2") for k in tail["answers"]), f"not recovered at the end: {tail['answers']}")
    f.check(server.alive(), "the hub died")
    f.evidence += f.log_lines(server, r" (error|critical) ", 8)
    scraped = metrics.scrape(metrics_url)
    if scraped:
        f.measure("store errors (metrics)", scraped.by("gatehouse_store_errors_total", "backend", "kind"))
        f.measure("HTTP 5xx by route (metrics)", {f"{k[0]} {k[1]}": v for k, v in scraped.by(
            "gatehouse_http_requests_total", "route", "status").items() if k[1].startswith("5")})
    seconds, code = server.terminate(15.0)
    f.measure("SIGTERM afterwards", f"exit {code} in {seconds} s")
    f.check(code == 0, f"exit code after SIGTERM: {code}")
    postgres.destroy()


# ======================================================================================
# upstream_killed_mid_stream
# ======================================================================================


def upstream_killed_mid_stream(f: Fault) -> None:
    fastmcp_port = procs.free_port()
    upstream_dir = f.root / "upstreams"
    starts = f.root / "stdio-starts.txt"

    def fastmcp() -> procs.Proc:
        return f.own(procs.peer(FASTMCP_PEER, "fastmcp", upstream_dir, fastmcp_port))

    docs = fastmcp().start()
    config = f.root / "gateway.json"
    config.write_text(json.dumps({"upstreams": [
        {"name": "docs", "url": f"http://127.0.0.1:{fastmcp_port}/mcp"},
        {"name": "files", "command": procs.PYTHON, "args": [str(STDIO_PEER)], "env": {"SOAK_STDIO_STARTS": str(starts)}},
    ]}))
    gateway, port, metrics_url = f.hub("gateway", ["--provider", "none", "--config", str(config)], command="gateway")
    gateway.start()
    base, mcp = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/mcp"

    def killed_mid_call(label: str, tool: str, arguments: dict, kill: Callable[[], None], session: mcpio.Session | None = None) -> None:
        call = mcpio.StreamedCall(mcp, None, tool, arguments, read_timeout=60.0, session=session)
        thread = threading.Thread(target=call.run, daemon=True)
        thread.start()
        waited = time.monotonic()
        while len(call.progress_times) < 2 and time.monotonic() - waited < 15 and thread.is_alive():
            time.sleep(0.05)
        f.check(len(call.progress_times) >= 2, f"{label}: no progress before the kill ({call.describe() if call.ended else 'still running'})")
        killed_at = time.monotonic() - call.started
        kill()
        thread.join(60)
        after_kill = (call.ended - killed_at) if call.ended is not None else None
        f.measure(f"{label}: what the client got", call.describe() + (f", {after_kill:.2f} s after the kill" if after_kill is not None else ""))
        f.check(after_kill is not None and after_kill < 5.0, f"{label}: the client's call ended {after_kill} s after the kill (expected < 5 s)")
        response = call.response
        f.check(response is not None and ("error" in response or response.get("result", {}).get("isError")),
                f"{label}: the client got no tool error or JSON-RPC error: {call.describe()}")

    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        warm = mcpio.call(http, mcp, None, "docs_echo", {"text": "warm"})
        f.check(mcpio.first_text(warm) == "warm", f"docs_echo before: {describe(warm)}")
        session = mcpio.Session(http, mcp, None)
        f.check(session.open().status == 200, "gateway session open")
        f.check(mcpio.first_text(session.call("docs_echo", {"text": "in session"})) == "in session", "docs_echo in the session before")

        # --- the FastMCP upstream, stateless client
        killed_mid_call("FastMCP killed during docs_slow_count (stateless)", "docs_slow_count", {"n": 30},
                        lambda: docs.kill())
        dead, took, error = timed(lambda: mcpio.call(http, mcp, None, "docs_echo", {"text": "anyone?"}))
        f.measure("FastMCP dead: docs_echo", f"{describe(dead, error)} in {took:.2f} s")
        f.check(dead is not None and took < 5.0 and mcpio.is_tool_error(dead), f"call to the dead upstream: {describe(dead, error)} in {took:.1f} s")
        f.measure("FastMCP dead: /healthz", gateway_healthz(base))
        f.check(gateway_healthz(base).get("docs") == "down", "/healthz does not show docs down")
        shout = mcpio.call(http, mcp, None, "files_shout", {"text": "still"})
        f.check(mcpio.first_text(shout) == "STILL!", f"the stdio upstream while docs is down: {describe(shout)}")
        docs = fastmcp().start()
        back_after, last = echoes_again(lambda: mcpio.call(http, mcp, None, "docs_echo", {"text": "back"}), "back")
        f.measure("FastMCP restarted: docs_echo works again after s", back_after if back_after is not None else f"never in 30 s (last {last})")
        f.check(back_after is not None and back_after < 15, f"the gateway did not use the restarted upstream within 15 s (last {last})")
        f.measure("FastMCP restarted: /healthz", gateway_healthz(base))
        in_session = session.call("docs_echo", {"text": "same session"})
        f.measure("FastMCP restarted: the downstream session opened before", describe(in_session))
        f.check(mcpio.first_text(in_session) == "same session" and not mcpio.is_tool_error(in_session),
                f"the downstream session opened before the upstream restart: {describe(in_session)}")

        # --- the FastMCP upstream killed during a call in a downstream session
        fresh = mcpio.Session(http, mcp, None)
        f.check(fresh.open().status == 200, "second gateway session open")
        killed_mid_call("FastMCP killed during docs_slow_count (2025-11-25 session)", "docs_slow_count", {"n": 30},
                        lambda: docs.kill(), session=fresh)
        docs = fastmcp().start()
        back_after, last = echoes_again(lambda: fresh.call("docs_echo", {"text": "again"}), "again")
        f.measure("FastMCP restarted: that session's calls work again after s", back_after if back_after is not None else f"never (last {last})")
        f.check(back_after is not None and back_after < 15, f"the session did not recover within 15 s (last {last})")

        # --- the stdio upstream, SIGKILLed mid-call (the gateway restarts it)
        pid_before = mcpio.structured(mcpio.call(http, mcp, None, "files_pid", {})) or {}
        stdio_pid = pid_before.get("result")
        f.measure("stdio upstream pid", stdio_pid)

        def kill_stdio() -> None:
            cmdline = Path(f"/proc/{stdio_pid}/cmdline").read_bytes()
            assert b"slow_stdio.py" in cmdline, cmdline
            assert stdio_pid in procs.children_of(gateway.pid), "not the gateway's child"
            os.kill(stdio_pid, signal.SIGKILL)

        killed_mid_call("stdio upstream killed during files_slow_count", "files_slow_count", {"n": 30, "step": 0.4}, kill_stdio)
        f.measure("stdio killed: /healthz right after", gateway_healthz(base))
        started = time.monotonic()
        back_after, failures = None, []
        while time.monotonic() - started < 30:
            answer, _, error = timed(lambda: mcpio.call(http, mcp, None, "files_shout", {"text": "again"}))
            if answer is not None and mcpio.first_text(answer) == "AGAIN!":
                back_after = round(time.monotonic() - started, 2)
                break
            failures.append(describe(answer, error))
            time.sleep(0.25)
        new_pid = (mcpio.structured(mcpio.call(http, mcp, None, "files_pid", {})) or {}).get("result")
        f.measure("stdio restarted by the gateway: files_shout works again after s",
                  back_after if back_after is not None else f"never in 30 s ({failures[-1:]})")
        f.measure("stdio: answers while it was restarting", {k: failures.count(k) for k in set(failures)})
        f.measure("stdio: new pid / starts recorded", (new_pid, starts.read_text().count("started") if starts.exists() else None))
        f.check(back_after is not None and back_after < 15 and new_pid != stdio_pid, "the stdio upstream was not restarted within 15 s")
        hung = [k for k in failures if "Timeout" in k]
        f.check(not hung, f"calls hung while the stdio upstream restarted: {hung}")
    f.check(gateway.alive(), "the gateway died")
    f.evidence += f.log_lines(gateway, r"(error|warning|critical)", 10)
    scraped = metrics.scrape(metrics_url)
    if scraped:
        f.measure("gateway upstream requests by outcome (metrics)", scraped.by("gatehouse_gateway_upstream_requests_total", "upstream", "outcome"))
        f.measure("gateway 5xx answers (metrics)", scraped.server_errors())
        f.check(scraped.server_errors() == 0, f"the gateway answered {scraped.server_errors():g} requests with a 5xx")
    seconds, code = gateway.terminate(15.0)
    f.measure("gateway SIGTERM afterwards", f"exit {code} in {seconds} s")
    f.check(code == 0, f"gateway exit code after SIGTERM: {code}")


# ======================================================================================
# slow_body_flood, idle_connection_flood
# ======================================================================================


class Watchdog:
    """Every 0.5 s: GET /healthz and an authenticated tools/call add, each on a new connection,
    and the hub's fds; every 2 s a metrics scrape."""

    def __init__(self, server: procs.Proc, base: str, token: str, metrics_url: str) -> None:
        self.server, self.base, self.token, self.metrics_url = server, base, token, metrics_url
        self.healthz: list[float | None] = []
        self.calls: list[tuple[str, float]] = []
        self.fds: list[tuple[float, int]] = []
        self.scrapes: list[tuple[float, float]] = []
        self.stop = threading.Event()
        self.t0 = time.monotonic()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        last_scrape = 0.0
        while not self.stop.is_set():
            self.healthz.append(healthz_ms(self.base, timeout=5.0))
            try:
                answer = oauth.call_add(self.base, self.token, timeout=5.0)
                self.calls.append((f"HTTP {answer.status}" if answer.status != 200 else "200", answer.seconds))
            except Exception as error:  # noqa: BLE001
                self.calls.append((type(error).__name__, 5.0))
            fds = self.server.fds()
            if fds is not None:
                self.fds.append((time.monotonic() - self.t0, fds))
            if time.monotonic() - last_scrape > 2:
                last_scrape = time.monotonic()
                scraped = metrics.scrape(self.metrics_url)
                if scraped:
                    self.scrapes.append((time.monotonic() - self.t0, scraped.total("gatehouse_http_requests_total", route="/healthz", status="200")))
            self.stop.wait(0.5)

    def start(self) -> "Watchdog":
        self.thread.start()
        return self

    def finish(self, f: Fault, label: str) -> None:
        self.stop.set()
        self.thread.join(15)
        answered = [h for h in self.healthz if h is not None]
        f.measure(f"{label}: /healthz answered / asked", f"{len(answered)}/{len(self.healthz)}, slowest {max(answered, default=0):.1f} ms")
        statuses: dict[str, int] = {}
        for status, _ in self.calls:
            statuses[status] = statuses.get(status, 0) + 1
        f.measure(f"{label}: tools/call add (new connection each)", f"{statuses}, slowest {max((s for _, s in self.calls), default=0) * 1000:.0f} ms")
        f.measure(f"{label}: hub fds min/max", (min((v for _, v in self.fds), default=None), max((v for _, v in self.fds), default=None)))
        if len(self.scrapes) >= 2:
            f.measure(f"{label}: /healthz 200s counted by /metrics during the flood", self.scrapes[-1][1] - self.scrapes[0][1])
        f.check(len(answered) == len(self.healthz) and max(answered, default=0) < 1000,
                f"{label}: /healthz missed or slow: {len(answered)}/{len(self.healthz)}, slowest {max(answered, default=0)} ms")
        f.check(set(statuses) == {"200"}, f"{label}: tools/call during the flood: {statuses}")


def echoes_again(call, text: str, within_s: float = 30.0) -> tuple[float | None, str]:
    """Repeats `call` (an echo of `text` through the gateway) every 0.25 s until it answers `text`
    without a tool error: the seconds that took (None if not within `within_s`) and the last answer."""
    started, last = time.monotonic(), ""
    while time.monotonic() - started < within_s:
        answer, _, error = timed(call)
        last = describe(answer, error)
        if answer is not None and mcpio.first_text(answer) == text and not mcpio.is_tool_error(answer):
            return round(time.monotonic() - started, 2), last
        time.sleep(0.25)
    return None, last


def watched_hub(f: Fault, env: dict[str, str]):
    """A started --dev-auto-approve hub with `env`, its port and base URL, its descriptor count
    before the flood (measured), and a Watchdog probing /healthz and a tool call on it meanwhile."""
    server, port, metrics_url = f.hub("hub", ["--dev-auto-approve"], env=env)
    server.start()
    base = f"http://127.0.0.1:{port}"
    _, tokens = auto_login(base)
    baseline = server.fds()
    f.measure("hub fds before", baseline)
    return server, port, base, baseline, Watchdog(server, base, tokens["access_token"], metrics_url).start()


def slow_body_flood(f: Fault) -> None:
    body_timeout, head_timeout = 15, 10
    count = 100
    server, port, base, baseline, watchdog = watched_hub(f, {
        "GATEHOUSE_REQUEST_BODY_TIMEOUT": str(body_timeout), "GATEHOUSE_REQUEST_HEAD_TIMEOUT": str(head_timeout)})

    class Shim:  # what bench/hostile's watch() needs of a hub
        pass

    shim = Shim()
    shim.port = port
    host = f"Host: 127.0.0.1:{port}\r\n".encode()
    results: dict[str, list[dict]] = {"slow body": [], "slow head": []}
    lock = threading.Lock()

    def one(kind: str) -> None:
        try:
            if kind == "slow body":
                sock = hostile_timeouts._send(shim, b"POST /register HTTP/1.1\r\n" + host
                                              + b"Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{")
                outcome = hostile_timeouts.watch(shim, sock, body_timeout + 20, tick=(2.0, b" "))
            else:
                sock = hostile_timeouts._send(shim, b"POST /mcp HTTP/1.1\r\n" + host + b"X-Slow: ")
                outcome = hostile_timeouts.watch(shim, sock, head_timeout + 20, tick=(2.0, b"a"))
        except Exception as error:  # noqa: BLE001
            outcome = {"error": f"{type(error).__name__}: {error}"}
        with lock:
            results[kind].append(outcome)

    threads = [threading.Thread(target=one, args=(kind,), daemon=True) for kind in ("slow body", "slow head") for _ in range(count)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    f.measure("hub fds with the flood open", server.fds())
    for thread in threads:
        thread.join(body_timeout + 40)
    time.sleep(1)
    watchdog.finish(f, "during the flood")
    for kind, deadline in (("slow body", body_timeout), ("slow head", head_timeout)):
        rows = results[kind]
        closed = sorted(r["closed_at"] for r in rows if r.get("closed_at") is not None)
        errors = [r["error"] for r in rows if "error" in r]
        statuses: dict[str, int] = {}
        for r in rows:
            statuses[str(r.get("status"))] = statuses.get(str(r.get("status")), 0) + 1
        f.measure(f"{kind}: connections / closed by the hub", f"{len(rows)} / {len(closed)}"
                  + (f", closed between {closed[0]:.1f} and {closed[-1]:.1f} s" if closed else "") + (f", errors {errors[:2]}" if errors else ""))
        f.measure(f"{kind}: what the hub answered", statuses)
        f.check(len(closed) == count and not errors, f"{kind}: {count - len(closed)} connections not closed by the hub")
        f.check(not closed or closed[-1] <= deadline + 5, f"{kind}: held until {closed[-1] if closed else None} s (deadline {deadline} s)")
    after = server.fds()
    f.measure("hub fds after", after)
    f.check(after is not None and baseline is not None and after <= baseline + 5, f"fds after the flood {after} (before {baseline})")
    f.check(server.alive(), "the hub died")


def idle_connection_flood(f: Fault) -> None:
    cap, idle_timeout, count = 100, 15, 300
    server, port, base, baseline, watchdog = watched_hub(f, {
        "GATEHOUSE_MAX_CONNECTIONS": str(cap), "GATEHOUSE_IDLE_TIMEOUT": str(idle_timeout)})
    sockets: list[socket.socket] = []
    opened_at = time.monotonic()
    connect_errors: dict[str, int] = {}
    for _ in range(count):
        try:
            sockets.append(httpio.raw_connect(port, timeout=5.0))
        except OSError as error:
            connect_errors[type(error).__name__] = connect_errors.get(type(error).__name__, 0) + 1
    # 20 keep-alive connections that made one request and then sit idle.
    keepalive = []
    for _ in range(20):
        try:
            sock = httpio.raw_connect(port, timeout=5.0)
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            keepalive.append(sock)
        except OSError as error:
            connect_errors[type(error).__name__] = connect_errors.get(type(error).__name__, 0) + 1
    f.measure("opened (idle / keep-alive after one request)", (len(sockets), len(keepalive), connect_errors or "no connect errors"))
    closed_at: dict[int, float] = {}
    everything = sockets + keepalive
    peak = 0
    while time.monotonic() - opened_at < idle_timeout + 12:
        for index, sock in enumerate(everything):
            if index not in closed_at and httpio.drain(sock)[0]:
                closed_at[index] = time.monotonic() - opened_at
        peak = max(peak, server.fds() or 0)
        time.sleep(0.25)
    watchdog.finish(f, "during the flood")
    idle_closed = sorted(v for k, v in closed_at.items() if k < len(sockets))
    kept_closed = sorted(v for k, v in closed_at.items() if k >= len(sockets))
    early = [t for t in idle_closed if t < idle_timeout - 1]
    f.measure("idle: closed by the hub (all / evicted before the idle deadline)", f"{len(idle_closed)}/{len(sockets)} / {len(early)}")
    if idle_closed:
        f.measure("idle: closed between s", (round(idle_closed[0], 1), round(idle_closed[-1], 1)))
    f.measure("keep-alive after a request: closed by the hub", f"{len(kept_closed)}/{len(keepalive)}"
              + (f", at {kept_closed[0]:.1f}–{kept_closed[-1]:.1f} s" if kept_closed else ""))
    f.measure("hub fds peak", peak)
    f.check(peak <= cap + baseline + 40, f"the hub held {peak} fds with a cap of {cap} connections")
    f.check(len(closed_at) == len(everything), f"{len(everything) - len(closed_at)} idle connections still open after {idle_timeout + 12} s")
    for sock in everything:
        sock.close()
    time.sleep(1)
    after = server.fds()
    f.measure("hub fds after", after)
    f.check(after is not None and baseline is not None and after <= baseline + 5, f"fds after the flood {after} (before {baseline})")
    f.check(server.alive(), "the hub died")


# ======================================================================================
# sigterm_in_flight
# ======================================================================================


def sigterm_in_flight(f: Fault) -> None:
    shutdown_timeout = 6
    server, port, metrics_url = f.hub("hub", ["--dev-auto-approve"], env={"GATEHOUSE_SHUTDOWN_TIMEOUT": str(shutdown_timeout)})
    server.start()
    base, mcp = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/mcp"
    _, tokens = auto_login(base)
    token = tokens["access_token"]
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        session = mcpio.Session(http, mcp, token)
        f.check(session.open().status == 200, "session open")
    calls = {
        "wait 3 s, stateless, progress": mcpio.StreamedCall(mcp, token, "wait", {"seconds": 3}),
        "wait 3 s, stateless, progress (2)": mcpio.StreamedCall(mcp, token, "wait", {"seconds": 3}),
        "wait 3 s, 2025-11-25 session, progress": mcpio.StreamedCall(mcp, token, "wait", {"seconds": 3}, session=session),
        "wait 30 s, stateless, progress": mcpio.StreamedCall(mcp, token, "wait", {"seconds": 30}),
        "wait 30 s, session, progress": mcpio.StreamedCall(mcp, token, "wait", {"seconds": 30}, session=session),
    }
    plain: dict[str, Any] = {}

    def plain_wait() -> None:
        with httpx2.Client(timeout=HTTP_TIMEOUT_S) as h:
            plain["answer"], plain["seconds"], plain["error"] = timed(lambda: mcpio.call(h, mcp, token, "wait", {"seconds": 3}))

    idle = httpio.raw_connect(port)
    threads = [threading.Thread(target=c.run, daemon=True) for c in calls.values()] + [threading.Thread(target=plain_wait, daemon=True)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not all(c.progress_times for c in calls.values()):
        time.sleep(0.05)
    f.check(all(c.progress_times for c in calls.values()), "not every call was streaming progress before SIGTERM")
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    refused, _, error = timed(lambda: httpio.get(base, "/healthz", timeout=3.0))
    f.measure("a new request 0.3 s after SIGTERM", describe(None, error) if error else f"HTTP {refused.status}")
    try:
        code = server.process.wait(timeout=shutdown_timeout + 10)
        exit_s = time.monotonic() - signalled
    except subprocess.TimeoutExpired:
        code, exit_s = None, None
        server.kill()
    for thread in threads:
        thread.join(15)
    f.measure("hub: exit code, seconds after SIGTERM", (code, round(exit_s, 2) if exit_s else None))
    f.check(code == 0, f"hub exit code {code} after SIGTERM")
    f.check(exit_s is not None and exit_s <= shutdown_timeout + 2, f"hub exit {exit_s} s after SIGTERM (shutdown timeout {shutdown_timeout} s)")
    for label, call in calls.items():
        ended_after_signal = (call.started + call.ended - signalled) if call.ended is not None else None
        f.measure(f"hub: {label}", call.describe() + (f", ended {ended_after_signal:.2f} s after SIGTERM" if ended_after_signal is not None else ""))
        response = call.response
        if label.startswith("wait 3 s"):
            f.check(response is not None and "result" in response and not response["result"].get("isError"),
                    f"{label}: did not complete: {call.describe()}")
        else:
            f.check(ended_after_signal is not None and ended_after_signal <= shutdown_timeout + 2,
                    f"{label}: still open {ended_after_signal} s after SIGTERM")
            if response is None:
                f.notes.append(f"hub: {label} was cut at the shutdown timeout without a JSON-RPC error (the SSE stream just ends)")
    answer = plain.get("answer")
    f.measure("hub: wait 3 s, plain JSON", f"{describe(answer, plain.get('error'))} in {plain.get('seconds', 0):.2f} s")
    f.check(answer is not None and answer.status == 200 and (mcpio.structured(answer) or {}).get("waited", 0) >= 3,
            f"the plain wait 3 s did not complete: {describe(answer, plain.get('error'))}")
    closed, _ = httpio.drain(idle)
    f.measure("hub: idle keep-alive connection closed", closed)
    idle.close()
    f.evidence += [line for line in server.log_tail(12).splitlines() if "shut" in line.lower() or "cancel" in line.lower()][:5]

    # --- the gateway: an upstream call in flight (FastMCP slow_count) and a stdio child
    fastmcp_port = procs.free_port()
    docs = f.own(procs.peer(FASTMCP_PEER, "fastmcp", f.root / "upstreams", fastmcp_port)).start()
    gateway, gw_port, _ = f.hub("gateway", ["--provider", "none", "--upstream", f"docs=http://127.0.0.1:{fastmcp_port}/mcp",
                                            "--upstream", f"files=stdio:{procs.PYTHON} {STDIO_PEER}"],
                                command="gateway", env={"GATEHOUSE_SHUTDOWN_TIMEOUT": str(shutdown_timeout)})
    gateway.start()
    gw_mcp = f"http://127.0.0.1:{gw_port}/mcp"
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        stdio_pid = (mcpio.structured(mcpio.call(http, gw_mcp, None, "files_pid", {})) or {}).get("result")
    short = mcpio.StreamedCall(gw_mcp, None, "docs_slow_count", {"n": 8})  # 8 × 0.3 s
    stdio_call = mcpio.StreamedCall(gw_mcp, None, "files_slow_count", {"n": 4, "step": 0.5})
    long = mcpio.StreamedCall(gw_mcp, None, "docs_slow_count", {"n": 100})  # 30 s
    threads = [threading.Thread(target=c.run, daemon=True) for c in (short, stdio_call, long)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (short.progress_times and long.progress_times and stdio_call.progress_times):
        time.sleep(0.05)
    signalled = time.monotonic()
    gateway.process.send_signal(signal.SIGTERM)
    try:
        code = gateway.process.wait(timeout=shutdown_timeout + 10)
        exit_s = time.monotonic() - signalled
    except subprocess.TimeoutExpired:
        code, exit_s = None, None
    for thread in threads:
        thread.join(15)
    stdio_left = stdio_pid is not None and Path(f"/proc/{stdio_pid}").exists() and b"slow_stdio" in Path(f"/proc/{stdio_pid}/cmdline").read_bytes()
    f.measure("gateway: exit code, seconds after SIGTERM", (code, round(exit_s, 2) if exit_s else None))
    f.measure("gateway: docs_slow_count n=8 (2.4 s) in flight", short.describe())
    f.measure("gateway: files_slow_count n=4 (2 s, stdio) in flight", stdio_call.describe())
    f.measure("gateway: docs_slow_count n=100 (30 s) in flight", long.describe())
    f.measure("gateway: stdio upstream still running after the gateway exited", stdio_left)
    f.check(code == 0, f"gateway exit code {code} after SIGTERM")
    f.check(exit_s is not None and exit_s <= shutdown_timeout + 2, f"gateway exit {exit_s} s after SIGTERM")
    for label, call in (("docs_slow_count n=8", short), ("files_slow_count n=4", stdio_call)):
        response = call.response
        f.check(response is not None and "result" in response and not response["result"].get("isError"),
                f"gateway: {label} in flight did not complete: {call.describe()}")
    f.check(long.ended is not None and long.started + long.ended - signalled <= shutdown_timeout + 2,
            f"gateway: the 30 s call was still open after the shutdown timeout: {long.describe()}")
    if long.response is None:
        f.notes.append("gateway: the 30 s call was cut at the shutdown timeout without a JSON-RPC error (the SSE stream just ends)")
    f.check(not stdio_left, f"the stdio upstream (pid {stdio_pid}) outlived the gateway")
    if stdio_left:
        os.kill(stdio_pid, signal.SIGKILL)
    gateway.kill()
    docs.terminate(10)


# ======================================================================================
# Running them
# ======================================================================================

FAULTS: list[tuple[str, Callable[[Fault], None], float]] = [
    ("jwks_down", jwks_down, 120),
    ("provider_down_during_login", provider_down_during_login, 120),
    ("database_locked", database_locked, 90),
    ("database_full", database_full, 120),
    ("postgres_down", postgres_down, 180),
    ("upstream_killed_mid_stream", upstream_killed_mid_stream, 240),
    ("slow_body_flood", slow_body_flood, 120),
    ("idle_connection_flood", idle_connection_flood, 120),
    ("sigterm_in_flight", sigterm_in_flight, 120),
]


def run_fault(name: str, body: Callable[[Fault], None], budget: float, binary: str, root: Path) -> dict:
    fault = Fault(name, binary, root)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            body(fault)
        except NotMeasured as reason:
            outcome["not_measured"] = str(reason)
        except BaseException as error:  # noqa: BLE001 - reported
            outcome["error"] = f"{type(error).__name__}: {error}"
            outcome["traceback"] = traceback.format_exc()

    thread = threading.Thread(target=target, name=name, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(budget)
    if thread.is_alive():
        outcome["error"] = f"over its {budget:g} s budget (a hang): its processes were killed"
        for proc in fault.procs:
            proc.kill()
        thread.join(20)
    alive_at_end = [p.name for p in fault.procs if p.alive()]
    # Keep the logs, then stop whatever the fault left running.
    folder = LOGS / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    for proc in fault.procs:
        if proc.log_path.exists():
            shutil.copy(proc.log_path, folder / f"{proc.log_path.parent.name}-{proc.log_path.name}")
    for proc in fault.procs:
        proc.terminate(5.0)
    procs.stop_everything(grace=5.0)
    if "traceback" in outcome:
        print(outcome["traceback"], file=sys.stderr)
    if "not_measured" in outcome:
        verdict = "NOT MEASURED"
    elif "error" in outcome:
        verdict = "FAIL"
        fault.problems.append("did not finish: " + outcome["error"])
    else:
        verdict = "FAIL" if fault.problems else "PASS"
    return {
        "fault": name, "verdict": verdict, "seconds": round(time.monotonic() - started, 1),
        "problems": fault.problems, "notes": fault.notes, "measurements": fault.measurements, "evidence": fault.evidence,
        "not_measured": outcome.get("not_measured"), "left_running": alive_at_end,
        "logs": str(folder.relative_to(REPO)),
    }


def one_line(entry: dict) -> str:
    if entry["verdict"] == "NOT MEASURED":
        return f"{entry['fault']}: NOT MEASURED ({entry['not_measured']})"
    if entry["problems"]:
        return f"{entry['fault']}: FAIL ({entry['seconds']:.0f} s): " + "; ".join(entry["problems"][:3])
    extra = (" (observation: " + "; ".join(entry["notes"][:2]) + ")") if entry["notes"] else ""
    return f"{entry['fault']}: PASS ({entry['seconds']:.0f} s){extra}"


def jsonable(value: Any) -> Any:
    """Dicts with tuple keys (metrics.by) made JSON-friendly."""
    if isinstance(value, dict):
        return {(" ".join(map(str, k)) if isinstance(k, tuple) else str(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def fmt(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        return "`" + json.dumps(jsonable(value), default=str)[:1500].replace("|", "\\|") + "`"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown(results: list[dict], binary: str, note: str, total: float) -> str:
    lines = [
        "# Faults",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M %Z')} · binary `{binary}` ({note}) · {os.cpu_count()} CPUs, {platform.platform()} · "
        f"total {total:.0f} s",
        "",
        "```sh",
        f".venv-interop/bin/python bench/soak/faults.py --binary {binary}",
        "```",
        "",
        "| fault | result |",
        "|---|---|",
    ]
    for entry in results:
        lines.append(f"| {entry['fault']} | {fmt(one_line(entry).split(': ', 1)[1])} |")
    for entry in results:
        lines += ["", f"## {entry['fault']}: {entry['verdict']}", ""]
        if entry["not_measured"]:
            lines.append(f"Not measured: {entry['not_measured']}")
        for problem in entry["problems"]:
            lines.append(f"- **problem**: {fmt(problem)}")
        for note in entry["notes"]:
            lines.append(f"- observation: {fmt(note)}")
        if entry["problems"] or entry["notes"]:
            lines.append("")
        lines += ["| measurement | value |", "|---|---|"]
        for key, value in entry["measurements"].items():
            lines.append(f"| {fmt(key)} | {fmt(value)} |")
        if entry["evidence"]:
            lines += ["", "Server log lines:", "", "```"] + [line[:400] for line in entry["evidence"]] + ["```"]
        lines.append(f"\nLogs: `{entry['logs']}/`")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--only", nargs="+", action="extend", metavar="NAME", help=f"some faults: {', '.join(n for n, _, _ in FAULTS)}")
    parser.add_argument("--output", default=str(RESULTS / "faults-latest.md"))
    parser.add_argument("--build-note", default="", help="what the binary is, for the report")
    options = parser.parse_args()
    binary = str(Path(options.binary).resolve())
    if not os.access(binary, os.X_OK):
        parser.error(f"not an executable: {binary}")
    selected = FAULTS
    if options.only:
        known = {n for n, _, _ in FAULTS}
        unknown = [n for n in options.only if n not in known]
        if unknown:
            parser.error(f"unknown fault(s) {unknown}; known: {sorted(known)}")
        selected = [fault for fault in FAULTS if fault[0] in options.only]
    note = options.build_note or ("debug build" if "/debug/" in binary else "build type not given")
    procs.install_signal_handlers()
    root = Path(tempfile.mkdtemp(prefix="gatehouse-soak-faults-"))
    root.chmod(0o711)
    results = []
    started = time.monotonic()
    try:
        for name, body, budget in selected:
            print(f"fault {name} (budget {budget:g} s) ...", file=sys.stderr, flush=True)
            entry = run_fault(name, body, budget, binary, root)
            print(one_line(entry), flush=True)
            results.append(entry)
    except KeyboardInterrupt:
        print("interrupted: stopping everything", file=sys.stderr)
        procs.stop_everything()
        shutil.rmtree(root, ignore_errors=True)
        return 130
    finally:
        procs.stop_everything()
    shutil.rmtree(root, ignore_errors=True)
    total = time.monotonic() - started
    output = Path(options.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(markdown(results, binary, note, total))
    output.with_suffix(".json").write_text(json.dumps({
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "binary": binary, "build": note,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "total_seconds": round(total, 1),
        "faults": jsonable(results)}, indent=2, default=str) + "\n")
    print(f"report: {output}", file=sys.stderr)
    return 1 if any(entry["verdict"] == "FAIL" for entry in results) else 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
