"""Operations features of the real `gatehouse` binary: Prometheus metrics, the audit log and the
MCP endpoint's rate limits, driven by the official Python SDK client (mcp==2.3.0) wherever a
client is needed and by raw HTTP (httpx2) where a test needs a status, a header or a form.

Every process here is one `gatehouse hub` / `gatehouse gateway` on loopback (GatehouseServer),
so the metrics of one process and the audit log of one file are what the tests read.

1. Metrics (`--metrics-port`, GET /metrics on a listener of its own, Prometheus text format)

   metrics_run (module fixture): a hub with the embedded authorization server and
   --dev-auto-approve, --metrics-port and --rate-limit-tools echo=2/hour. The SDK ("auto")
   discovers, registers, signs in, lists tools, calls add/whoami/add_tool notes/notes_add/
   notes_list, a made-up tool name and echo three times (the third is rate limited); raw HTTP
   refreshes once, presents an unknown refresh token (invalid_grant), a refused token, a
   request without a token and GETs an unknown route whose path holds the user and client ids;
   then a "legacy" SDK session (2025-11-25) is open while /metrics is scraped once, and a final
   scrape follows.

   test_metrics_listener_is_separate_from_the_mcp_listener
       /metrics only on the metrics port (404 on the main port), no MCP endpoint on the metrics
       port (404), text format 0.0.4, every family declared with its TYPE and its labels
   test_http_requests_are_counted_by_route_pattern
       gatehouse_http_requests_total{route,method,status} per route pattern (/mcp, /register,
       /authorize, /token, the well-known documents); never a raw path or a query; the duration
       histogram's count equals the counter for each route and method, buckets cumulative
   test_unknown_route_is_labelled_unmatched
       a 404 is route="unmatched" (docs: RequestMetricsMiddleware)
   test_auth_decisions_are_counted
       accepted (every authenticated /mcp request) and refused{reason="malformed"} once; requests
       without a token are no decision
   test_tool_calls_are_counted_by_tool_name
       gatehouse_tool_calls_total / gatehouse_tool_call_duration_seconds by tool and outcome; the
       made-up name is "unknown", never itself; the rate-limited call is no tool call
   test_token_requests_are_counted
       authorization_code issued, refresh_token issued, refresh_token invalid_grant
   test_store_operations_are_timed
       gatehouse_store_operation_duration_seconds{backend="sqlite",kind=read|write}
   test_active_sessions_gauge
       gatehouse_mcp_sessions_active >= 1 while the legacy session is open, 0 once it was deleted
   test_rate_limited_requests_are_counted
       gatehouse_rate_limited_total{limit="tool"} 1
   test_no_identifier_or_secret_is_a_label_value
       no label value of the whole scrape holds an access or refresh token, the code, the client
       id, the user id (usr_...), the email, the session id, the refused token or the made-up name

   test_sign_ins_are_counted
       a hub with its sign-in page (no auto-approval): a wrong then the right password through
       the form -> gatehouse_sign_ins_total{method="password",outcome=failed|succeeded} 1 each
   test_jwks_fetches_are_counted
       a hub verifying LocalIssuer's JWTs (MCP_JWT_ISSUER, metrics port from GATEHOUSE_METRICS_PORT),
       the SDK calling with one -> gatehouse_provider_fetches_total{kind="jwks",outcome="ok"} and
       its duration histogram
   test_gateway_metrics_name_the_upstream_and_the_namespaced_tool
       `gatehouse gateway` with a stdio upstream (peers/gateway_stdio_upstream.py), the SDK calling
       files_shout and two made-up tools (one under no prefix, one under "files_") ->
       gatehouse_gateway_upstream_up{upstream="files"} 1, gatehouse_gateway_upstream_requests_total
       / _duration_seconds, tool calls of files_shout, both made-up names counted as "unknown"

2. Audit log (`--audit-log FILE`, JSON lines {"time","event",...})

   audit_run (module fixture): a plain hub (sign-in page) with --audit-log FILE and
   --rate-limit-tools echo=1/hour, a user made with `gatehouse idp add-user`. The SDK ("auto")
   registers and signs in through the form, calls tools, add_tool notes, echo twice (rate
   limited) and a made-up tool; raw HTTP registers a confidential client, signs in with a wrong
   then the right password, redeems the code and replays it, denies on the page, refreshes the
   SDK's refresh token and revokes the new one (RFC 7009), presents a refused token and sends
   requests without a token.

   test_every_audit_line_is_json_with_time_and_event
       every line is a JSON object, "time" ISO 8601 UTC with milliseconds and Z, within the run,
       "event" a documented name; each documented event was written
   test_authentication_refused_only_for_presented_tokens
       one authentication.refused (reason malformed, path, address, description) for the one
       refused token; none for the requests without a token
   test_sign_in_events           sign_in.failed (wrong_password) and sign_in.succeeded
   test_consent_events           consent.granted (sub, email, client, resource, redirect) and consent.denied
   test_client_registered        both registrations, public and confidential
   test_token_events             token.issued, token.refreshed, token.reused (code replay), token.revoked
   test_tool_called              tool, outcome, duration_ms, sub, iss, client_id; the made-up name is "unknown"
   test_hub_tools_changed        add_tool notes -> action added
   test_rate_limited_event       limit tool, tool echo, sub, client_id, address
   test_no_secret_in_the_audit_log_or_the_server_log
       no access or refresh token, authorization code, client secret, password, PKCE verifier or
       refused token appears in the audit file or in the server's output

   test_audit_log_to_standard_output
       `--audit-log -`: the JSON lines on stdout (next to the start-up banner, which also goes
       there), none on stderr (the server's log)
   test_unwritable_audit_log_stops_the_hub
       a directory or a path in a missing directory (flag or GATEHOUSE_AUDIT_LOG): exit 78 and a
       message naming GATEHOUSE_AUDIT_LOG

3. Rate limits (hubs verifying LocalIssuer's JWTs, tokens minted per user and client)

   test_user_limit_refuses_one_user_and_not_another
       --rate-limit-user 4/hour: the 5th request of one user is HTTP 429 with Retry-After, the SDK
       raises MCPError -32029 with data {limit: user, allowed: 4/hour, retryAfter}; the JSON-RPC
       id is null; another user goes on; gatehouse_rate_limited_total{limit="user"} counts it
   test_client_limit_counts_every_user_of_the_client
       --rate-limit-client 4/hour: two users of one client share the count, a user of another
       client goes on
   test_tool_limit_refuses_only_that_tool_and_echoes_the_id
       --rate-limit-tools whoami=2/hour,echo=1/s: the 3rd whoami of a user is refused with data
       {limit: tool, tool: whoami, ...} and its id echoed; add still works, another user's whoami works
   test_limit_resets_in_the_next_window
       echo=1/s: a second echo within a second of the first is refused with Retry-After 1; once
       the window the first opened has closed (about 1 s) echo works again
   test_bad_rate_limit_values_stop_the_hub
       "600", "5/fortnight", "whoami", "whoami=0/min", "x=1/min," (flags and environment): exit
       78 and a message naming the setting

Environment:
  GATEHOUSE_BIN  path of the server binary (default: <repo>/.build/debug/gatehouse)
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from conftest import DEFAULT_BIN, DEV_USER, PEERS_DIR, STARTUP_TIMEOUT_S, GatehouseServer, free_port
from mcp_wire import ACCEPT_BOTH, HUB_TOOLS, LATEST_HANDSHAKE, envelope, modern_headers, run
from test_embedded_login import (
    REDIRECT_URI,
    FileTokenStorage,
    HeadlessBrowser,
    SigningInBrowser,
    Traffic,
    make_provider,
    run_sdk,
)
from test_embedded_oauth import Authorization, EmbeddedAS, expect_oauth_error, expect_tokens, query_of
from test_issuer import LocalIssuer

pytestmark = pytest.mark.single_instance(
    "reads the metrics listener and the audit file of one process; a cluster has one of each per instance"
)

HTTP_TIMEOUT_S = 5.0
# One SDK conversation, sign-in included.
RUN_TIMEOUT_S = 30.0
# The JSON-RPC error code of a rate-limited request (JSONRPCError.rateLimitedCode).
RATE_LIMITED = -32029
INVALID_PARAMS = -32602
# "time" of an audit line: UTC, milliseconds, Z.
AUDIT_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
AUDIT_EVENTS = {
    "authentication.refused",
    "sign_in.succeeded",
    "sign_in.failed",
    "consent.granted",
    "consent.denied",
    "client.registered",
    "token.issued",
    "token.refreshed",
    "token.reused",
    "token.revoked",
    "tool.called",
    "hub.tools_changed",
    "rate.limited",
}
# Route labels the hub may use: its route patterns (RequestMetricsMiddleware), or "unmatched".
HUB_ROUTES = {
    "/mcp",
    "/healthz",
    "/authorize",
    "/token",
    "/register",
    "/revoke",
    "/introspect",
    "/jwks",
    "/.well-known/oauth-protected-resource/mcp",
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "unmatched",
}
# Family -> (TYPE, label names of its samples; histograms add "le" to their buckets).
HUB_FAMILIES = {
    "gatehouse_http_requests_total": ("counter", {"route", "method", "status"}),
    "gatehouse_http_request_duration_seconds": ("histogram", {"route", "method"}),
    "gatehouse_auth_decisions_total": ("counter", {"outcome", "reason"}),
    "gatehouse_tool_calls_total": ("counter", {"tool", "outcome"}),
    "gatehouse_tool_call_duration_seconds": ("histogram", {"tool"}),
    "gatehouse_token_requests_total": ("counter", {"grant_type", "outcome"}),
    "gatehouse_store_operation_duration_seconds": ("histogram", {"backend", "kind"}),
    "gatehouse_mcp_sessions_active": ("gauge", set()),
    "gatehouse_rate_limited_total": ("counter", {"limit"}),
}


# ======================================================================================
# Helpers: the Prometheus text format
# ======================================================================================

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')


@dataclass
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass
class Scrape:
    """One GET /metrics, parsed (text exposition format 0.0.4)."""

    text: str
    samples: list[Sample] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "Scrape":
        scrape = cls(text)
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("#"):
                parts = line.split()
                if len(parts) >= 4 and parts[1] == "TYPE":
                    scrape.types[parts[2]] = parts[3]
                continue
            match = _SAMPLE.match(line)
            assert match, f"not a sample line of the text format: {line!r}"
            name, raw_labels, value = match.groups()
            labels: dict[str, str] = {}
            if raw_labels:
                consumed = 0
                for label in _LABEL.finditer(raw_labels):
                    assert label.start() == consumed, f"cannot parse the labels of {line!r}"
                    labels[label.group(1)] = label.group(2).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                    consumed = label.end()
                assert consumed == len(raw_labels), f"cannot parse the labels of {line!r}"
            scrape.samples.append(Sample(name, labels, float(value)))
        return scrape

    def select(self, name: str, **labels: str) -> list[Sample]:
        """Samples of `name` whose labels include `labels`."""
        return [s for s in self.samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]

    def value(self, name: str, **labels: str) -> float | None:
        """The value of the sample of `name` with exactly these labels, None when there is none."""
        found = [s for s in self.samples if s.name == name and s.labels == labels]
        assert len(found) <= 1, found
        return found[0].value if found else None

    def total(self, name: str, **labels: str) -> float:
        return sum(s.value for s in self.select(name, **labels))

    def family(self, family: str) -> list[Sample]:
        """The samples of a family (a histogram's _bucket, _sum and _count included)."""
        names = {family, family + "_bucket", family + "_sum", family + "_count"}
        return [s for s in self.samples if s.name in names]

    def describe(self, family: str) -> str:
        return "\n".join(f"{s.name}{s.labels} {s.value}" for s in self.family(family) if not s.name.endswith("_bucket"))

    def label_values(self) -> set[str]:
        return {value for sample in self.samples for value in sample.labels.values()}


def scrape(metrics_url: str) -> Scrape:
    response = httpx2.get(metrics_url, timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, f"GET {metrics_url}: HTTP {response.status_code} {response.text[:300]!r}"
    return Scrape.parse(response.text)


async def scrape_async(metrics_url: str) -> Scrape:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT_S) as http:
        response = await http.get(metrics_url)
    assert response.status_code == 200, f"GET {metrics_url}: HTTP {response.status_code}"
    return Scrape.parse(response.text)


def check_families(result: Scrape, families: dict[str, tuple[str, set[str]]]) -> None:
    """Each family is declared with its TYPE and every sample carries exactly its labels."""
    for family, (kind, labels) in families.items():
        assert result.types.get(family) == kind, f"{family}: TYPE {result.types.get(family)!r}, expected {kind}\n{result.text}"
        samples = result.family(family)
        assert samples, f"{family} has no samples\n{result.text}"
        for sample in samples:
            expected = labels | {"le"} if sample.name.endswith("_bucket") else labels
            assert set(sample.labels) == expected, f"{sample.name}{sample.labels}: labels should be {sorted(expected)}"


def check_histogram(result: Scrape, family: str, **labels: str) -> float:
    """The histogram of `family` with `labels`: cumulative buckets ending in +Inf == _count,
    a non-negative _sum; returns the count."""
    count = result.value(family + "_count", **labels)
    total = result.value(family + "_sum", **labels)
    assert count is not None and total is not None, f"{family}{labels} has no _count/_sum:\n{result.describe(family)}"
    buckets = sorted(
        ((float(s.labels["le"]), s.value) for s in result.select(family + "_bucket", **labels) if len(s.labels) == len(labels) + 1),
        key=lambda bucket: bucket[0],
    )
    assert buckets and buckets[-1][0] == float("inf"), f"{family}{labels}: no +Inf bucket"
    values = [value for _, value in buckets]
    assert values == sorted(values), f"{family}{labels}: buckets are not cumulative: {buckets}"
    assert values[-1] == count, f"{family}{labels}: +Inf bucket {values[-1]} != count {count}"
    assert total >= 0
    return count


# ======================================================================================
# Helpers: processes, clients, windows
# ======================================================================================


def start(server: GatehouseServer) -> GatehouseServer:
    try:
        server.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    return server


def metrics_hub(name: str, args: list[str], command: str = "hub", by_environment: bool = False) -> tuple[GatehouseServer, str]:
    """A GatehouseServer (not started) serving metrics on a free port, set with --metrics-port
    or (by_environment) GATEHOUSE_METRICS_PORT; returns it and its metrics URL."""
    port = free_port()
    if by_environment:
        server = GatehouseServer(name, args, command=command, env={"GATEHOUSE_METRICS_PORT": str(port)})
    else:
        server = GatehouseServer(name, [*args, "--metrics-port", str(port)], command=command)
    return server, f"http://127.0.0.1:{port}/metrics"


class Responses:
    """Every HTTP response an httpx2 client saw: the request's method, URL and JSON-RPC method,
    the status and the response headers (an event hook)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None, int, dict[str, str]]] = []

    async def __call__(self, response: httpx2.Response) -> None:
        request = response.request
        rpc_method = None
        try:
            rpc_method = json.loads(request.content or b"{}").get("method")
        except (ValueError, AttributeError, httpx2.RequestNotRead):
            pass
        self.seen.append(
            (request.method, str(request.url), rpc_method, response.status_code, {k.lower(): v for k, v in response.headers.items()})
        )

    def posts(self, url: str) -> list[tuple[str | None, int, dict[str, str]]]:
        return [(rpc, status, headers) for method, u, rpc, status, headers in self.seen if method == "POST" and u == url]

    def describe(self) -> str:
        return "\n".join(f"{m} {u} {rpc} -> {s}" for m, u, rpc, s, _ in self.seen)


def with_bearer(
    url: str, token: str | None, body: Callable[[Client], Awaitable[Any]], responses: Responses | None = None, mode: str = "auto"
) -> Any:
    """Runs `body` with an mcp.Client on `url` sending `Authorization: Bearer token`."""

    async def go() -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        hooks = {"response": [responses]} if responses is not None else {}
        async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(10.0), event_hooks=hooks) as http:
            async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
                return await body(client)

    return run(go, RUN_TIMEOUT_S)


def raw_tool_call(url: str, token: str | None, name: str, arguments: dict[str, Any], request_id: Any = 1) -> httpx2.Response:
    """tools/call as one stateless 2026-07-28 request, for the status, headers and raw body."""
    headers = modern_headers("tools/call", name)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx2.post(
        url,
        json={"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": name, "arguments": arguments, "_meta": envelope()}},
        headers=headers,
        timeout=HTTP_TIMEOUT_S,
    )


def expect_rate_limited(response: httpx2.Response, limit: str, allowed: str, window_s: int, request_id: Any) -> dict[str, Any]:
    """HTTP 429 with Retry-After (RFC 6585 §4) within the window, and the JSON-RPC error -32029
    with data {limit, allowed, retryAfter(, tool)} answering `request_id`."""
    assert response.status_code == 429, f"expected 429, got HTTP {response.status_code}: {response.text[:300]!r}"
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    assert body.get("jsonrpc") == "2.0" and body.get("id") == request_id, body
    error = body["error"]
    assert error["code"] == RATE_LIMITED, error
    data = error["data"]
    assert data["limit"] == limit and data["allowed"] == allowed, data
    retry_after = response.headers.get("retry-after", "")
    assert retry_after.isdigit(), response.headers
    assert int(retry_after) == data["retryAfter"], (retry_after, data)
    assert 1 <= data["retryAfter"] <= window_s, data
    return data


def form_fields(page: httpx2.Response) -> dict[str, str]:
    hidden = dict(re.findall(r'name="(request_id|csrf_token)" value="([^"]*)"', page.text))
    assert set(hidden) == {"request_id", "csrf_token"}, page.text[:500]
    return hidden


def run_process(argv: list[str], env: dict[str, str], cwd: str, timeout: float = 5.0) -> tuple[int | None, str, str]:
    """Runs the binary; returns (exit code or None when it was still running after `timeout` and
    was stopped, stdout, stderr)."""
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env)
    try:
        out, err = process.communicate(timeout=timeout)
        return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        return None, out.decode(errors="replace"), err.decode(errors="replace")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEHOUSE_", "HUB_", "MCP_", "WORKOS_")) and k != "LOG_LEVEL"}
    env.update(extra)
    return env


def binary() -> str:
    """The server binary, as GatehouseServer resolves it."""
    return str(Path(os.environ.get("GATEHOUSE_BIN", str(DEFAULT_BIN))).resolve())


# ======================================================================================
# 1. Metrics
# ======================================================================================


@dataclass
class MetricsRun:
    hub: GatehouseServer
    metrics_url: str
    during_session: Scrape
    final: Scrape
    traffic: Traffic
    made_up_tool: str
    # name -> value: what must never be a label value
    identifiers: dict[str, str]
    session_deleted: bool
    main_metrics_status: int
    metrics_port_mcp_statuses: list[int]
    metrics_content_type: str
    authenticated_mcp_requests: int


@pytest.fixture(scope="module")
def metrics_run(tmp_path_factory: pytest.TempPathFactory) -> MetricsRun:
    """The traffic of the module docstring on a --dev-auto-approve hub, scraped twice."""
    hub, metrics_url = metrics_hub("ops-metrics", ["--dev-auto-approve", "--rate-limit-tools", "echo=2/hour"])
    start(hub)
    try:
        storage = FileTokenStorage(tmp_path_factory.mktemp("metrics") / "oauth.json")
        browser, traffic = HeadlessBrowser(), Traffic()
        made_up = "made_up_" + secrets.token_hex(6)

        async def signed_in(client: Client) -> dict[str, Any]:
            assert sorted(t.name for t in (await client.list_tools()).tools) == HUB_TOOLS
            assert (await client.call_tool("add", {"a": 2, "b": 3})).structured_content == {"result": 5}
            whoami = (await client.call_tool("whoami", {})).structured_content
            added = await client.call_tool("add_tool", {"tool_name": "notes", "config": {"notebook": "Ops"}})
            assert added.is_error is not True, added
            assert (await client.call_tool("notes_add", {"text": "scrape me"})).is_error is not True
            assert (await client.call_tool("notes_list", {})).is_error is not True
            with pytest.raises(MCPError) as unknown:
                await client.call_tool(made_up, {})
            assert unknown.value.code == INVALID_PARAMS, unknown.value.error
            for _ in range(2):
                assert (await client.call_tool("echo", {"text": "hi"})).is_error is not True
            with pytest.raises(MCPError) as limited:
                await client.call_tool("echo", {"text": "once too often"})
            assert limited.value.code == RATE_LIMITED, limited.value.error
            return whoami

        whoami = run_sdk(hub, "auto", make_provider(hub, storage, browser), traffic, signed_in)
        first_access, first_refresh, client_id = storage.access_token, storage.refresh_token, storage.client_id

        with httpx2.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as http:
            oauth = EmbeddedAS(hub, http)
            refreshed = expect_tokens(oauth.refresh(client_id, first_refresh))
            stored = json.loads(storage.path.read_text())
            stored["tokens"].update(refreshed)  # the legacy session below uses the refreshed tokens
            storage.path.write_text(json.dumps(stored))
            expect_oauth_error(oauth.refresh(client_id, "ghr_" + secrets.token_urlsafe(32)), 400, "invalid_grant")
            refused_token = "refused-" + secrets.token_urlsafe(24)
            refused = http.post(hub.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                headers={"Authorization": f"Bearer {refused_token}", "Accept": ACCEPT_BOTH})
            assert refused.status_code == 401, refused.text
            anonymous = http.post(hub.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Accept": ACCEPT_BOTH})
            assert anonymous.status_code == 401, anonymous.text
            lost = http.get(f"{hub.base_url}/users/{whoami['subject']}/clients/{client_id}", params={"access_token": first_access})
            assert lost.status_code == 404, lost.text
            main_metrics_status = http.get(hub.base_url + "/metrics").status_code
            metrics_base = metrics_url.removesuffix("/metrics")
            metrics_port_mcp = [
                http.post(metrics_base + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                          headers={"Authorization": f"Bearer {refreshed['access_token']}", "Accept": ACCEPT_BOTH}).status_code,
                http.get(metrics_base + "/mcp").status_code,
            ]
            content_type = http.get(metrics_url).headers.get("content-type", "")

        # A 2025-11-25 session (the SDK's legacy mode, with the stored tokens) open while scraping.
        legacy_traffic = Traffic()

        async def in_session(client: Client) -> Scrape:
            assert client.session.protocol_version == LATEST_HANDSHAKE
            assert (await client.call_tool("whoami", {})).structured_content["subject"] == whoami["subject"]
            return await scrape_async(metrics_url)

        during = run_sdk(hub, "legacy", make_provider(hub, storage, HeadlessBrowser()), legacy_traffic, in_session)
        session_ids = {h["mcp-session-id"] for _, _, _, h, _ in legacy_traffic.seen if "mcp-session-id" in h}
        assert session_ids, legacy_traffic.describe()
        deleted = any(m == "DELETE" and s in (200, 202, 204) for m, _, s, _, _ in legacy_traffic.seen)
        traffic.seen.extend(legacy_traffic.seen)
        authenticated = sum(
            1 for _, url, status, headers, _ in traffic.seen
            if url == hub.mcp_url and headers.get("authorization", "").startswith("Bearer ") and status < 400
        )
        final = scrape(metrics_url)
        identifiers = {
            "first access token": first_access,
            "refreshed access token": refreshed["access_token"],
            "first refresh token": first_refresh,
            "rotated refresh token": refreshed["refresh_token"],
            "authorization code": browser.redirects[0]["code"],
            "client id": client_id,
            "user id": whoami["subject"],
            "email": DEV_USER,
            "refused token": refused_token,
            "made-up tool name": made_up,
            **{f"session id {i}": sid for i, sid in enumerate(sorted(session_ids))},
        }
        assert whoami["subject"].startswith("usr_"), whoami
        return MetricsRun(
            hub, metrics_url, during, final, traffic, made_up, identifiers, deleted, main_metrics_status, metrics_port_mcp,
            content_type, authenticated,
        )
    finally:
        hub.stop(check=True)


def test_metrics_listener_is_separate_from_the_mcp_listener(metrics_run: MetricsRun) -> None:
    """GET /metrics answers only on the metrics port; the metrics port serves no MCP endpoint;
    the text format is 0.0.4 and every family carries exactly its documented labels."""
    assert metrics_run.main_metrics_status == 404, "the public listener serves /metrics"
    assert metrics_run.metrics_port_mcp_statuses == [404, 404], "the metrics listener serves the MCP endpoint"
    assert metrics_run.metrics_content_type.startswith("text/plain; version=0.0.4"), metrics_run.metrics_content_type
    check_families(metrics_run.final, HUB_FAMILIES)


def test_http_requests_are_counted_by_route_pattern(metrics_run: MetricsRun) -> None:
    """gatehouse_http_requests_total{route,method,status}: the route is the router's pattern,
    never a raw path or query; each request of the run is counted where it belongs."""
    result, name = metrics_run.final, "gatehouse_http_requests_total"
    routes = {s.labels["route"] for s in result.select(name)}
    # "NotFound" is what 404s are labelled today; test_unknown_route_is_labelled_unmatched reports it.
    assert routes <= HUB_ROUTES | {"NotFound"}, f"unexpected route labels {sorted(routes - HUB_ROUTES)}"
    for route in routes:
        assert "?" not in route and "/users/" not in route and "usr_" not in route, route
    sdk = metrics_run.traffic.seen
    mcp_ok = sum(1 for m, u, s, _, _ in sdk if u == metrics_run.hub.mcp_url and m == "POST" and s == 200)
    assert (result.value(name, route="/mcp", method="POST", status="200") or 0) >= mcp_ok, result.describe(name)
    # The SDK's first (token-less) request, the refused token and the raw token-less request.
    assert (result.value(name, route="/mcp", method="POST", status="401") or 0) >= 3, result.describe(name)
    assert result.value(name, route="/mcp", method="POST", status="429") == 1, result.describe(name)
    assert result.value(name, route="/register", method="POST", status="201") == 1, result.describe(name)
    assert result.value(name, route="/authorize", method="GET", status="303") == 1, result.describe(name)
    assert result.value(name, route="/token", method="POST", status="200") == 2, result.describe(name)
    assert result.value(name, route="/token", method="POST", status="400") == 1, result.describe(name)
    assert (result.value(name, route="/.well-known/oauth-protected-resource/mcp", method="GET", status="200") or 0) >= 1
    assert (result.value(name, route="/.well-known/oauth-authorization-server", method="GET", status="200") or 0) >= 1
    # The duration histogram counts the same requests.
    for route, method in {(s.labels["route"], s.labels["method"]) for s in result.select(name)}:
        count = check_histogram(result, "gatehouse_http_request_duration_seconds", route=route, method=method)
        assert count == result.total(name, route=route, method=method), (route, method)


def test_unknown_route_is_labelled_unmatched(metrics_run: MetricsRun) -> None:
    """A request no route matches (404, its path holding a user and a client id) counts under
    route="unmatched", as RequestMetricsMiddleware documents, not under its path."""
    result, name = metrics_run.final, "gatehouse_http_requests_total"
    assert (result.value(name, route="unmatched", method="GET", status="404") or 0) >= 1, (
        "404s are not labelled route=\"unmatched\":\n" + result.describe(name)
    )


def test_auth_decisions_are_counted(metrics_run: MetricsRun) -> None:
    """Every authenticated /mcp request is one accepted decision; the one refused token is
    refused{reason="malformed"}; requests without a token are not decisions."""
    result, name = metrics_run.final, "gatehouse_auth_decisions_total"
    accepted = result.value(name, outcome="accepted", reason="none") or 0
    assert accepted >= metrics_run.authenticated_mcp_requests > 0, (accepted, metrics_run.authenticated_mcp_requests)
    assert result.value(name, outcome="refused", reason="malformed") == 1, result.describe(name)
    assert result.total(name, outcome="refused") == 1, result.describe(name)
    assert {s.labels["outcome"] for s in result.select(name)} == {"accepted", "refused"}, result.describe(name)


def test_tool_calls_are_counted_by_tool_name(metrics_run: MetricsRun) -> None:
    """gatehouse_tool_calls_total{tool,outcome} and the duration histogram: the hub's tools by
    name, the made-up name as "unknown" (outcome refused), the rate-limited echo not at all."""
    result, name = metrics_run.final, "gatehouse_tool_calls_total"
    expected = {
        ("add", "ok"): 1,
        ("whoami", "ok"): 2,  # one in the stateless run, one in the session
        ("add_tool", "ok"): 1,
        ("notes_add", "ok"): 1,
        ("notes_list", "ok"): 1,
        ("echo", "ok"): 2,
        ("unknown", "refused"): 1,
    }
    counted = {(s.labels["tool"], s.labels["outcome"]): s.value for s in result.select(name)}
    assert counted == expected, result.describe(name)
    assert metrics_run.made_up_tool not in result.text
    for tool in {tool for tool, _ in expected}:
        count = check_histogram(result, "gatehouse_tool_call_duration_seconds", tool=tool)
        assert count == result.total(name, tool=tool), tool


def test_token_requests_are_counted(metrics_run: MetricsRun) -> None:
    """The SDK's code redemption, the raw refresh and the unknown refresh token."""
    result, name = metrics_run.final, "gatehouse_token_requests_total"
    counted = {(s.labels["grant_type"], s.labels["outcome"]): s.value for s in result.select(name)}
    assert counted == {
        ("authorization_code", "issued"): 1,
        ("refresh_token", "issued"): 1,
        ("refresh_token", "invalid_grant"): 1,
    }, result.describe(name)


def test_store_operations_are_timed(metrics_run: MetricsRun) -> None:
    """gatehouse_store_operation_duration_seconds{backend="sqlite"} for reads and writes."""
    result, family = metrics_run.final, "gatehouse_store_operation_duration_seconds"
    assert {s.labels["backend"] for s in result.family(family)} == {"sqlite"}, result.describe(family)
    for kind in ("read", "write"):
        assert check_histogram(result, family, backend="sqlite", kind=kind) > 0, kind


def test_active_sessions_gauge(metrics_run: MetricsRun) -> None:
    """gatehouse_mcp_sessions_active >= 1 while the legacy SDK session is open; 0 once the SDK
    deleted it (DELETE answered 2xx)."""
    during = metrics_run.during_session.value("gatehouse_mcp_sessions_active")
    assert during is not None and during >= 1, metrics_run.during_session.describe("gatehouse_mcp_sessions_active")
    if metrics_run.session_deleted:
        assert metrics_run.final.value("gatehouse_mcp_sessions_active") == 0


def test_rate_limited_requests_are_counted(metrics_run: MetricsRun) -> None:
    """The third echo (echo=2/hour) is gatehouse_rate_limited_total{limit="tool"}."""
    result, name = metrics_run.final, "gatehouse_rate_limited_total"
    assert {s.labels["limit"]: s.value for s in result.select(name)} == {"tool": 1}, result.describe(name)


def test_no_identifier_or_secret_is_a_label_value(metrics_run: MetricsRun) -> None:
    """Low cardinality: no label value (in the final scrape or the one during the session)
    contains a token, the code, the client id, the user id, the email, the session id, the
    refused token or the made-up tool name."""
    for result in (metrics_run.during_session, metrics_run.final):
        values = result.label_values()
        for what, secret in metrics_run.identifiers.items():
            holding = [v for v in values if secret in v]
            assert not holding, f"the {what} is a label value: {holding}"
        assert not [v for v in values if "usr_" in v or "ghc_" in v or "ghr_" in v], sorted(values)


def test_sign_ins_are_counted(tmp_path: Path) -> None:
    """A hub with its sign-in page: a wrong, then the right password on the form is
    gatehouse_sign_ins_total{method="password"} failed 1 and succeeded 1; the email is no label."""
    hub, metrics_url = metrics_hub("ops-sign-ins", [])
    start(hub)
    try:
        email, password = "dana@example.com", "dana's long password"
        hub.add_user(email, "Dana", password)
        with httpx2.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as browser:
            oauth = EmbeddedAS(hub, browser)
            client = oauth.new_client(client_name="ops sign-in metrics")
            page, verifier = oauth.authorize(client)
            assert page.status_code == 200, page.text[:300]
            wrong = browser.post(hub.base_url + "/authorize",
                                 data={**form_fields(page), "email": email, "password": "not dana's password", "decision": "approve"})
            assert wrong.status_code == 401, wrong.text[:300]
            right = browser.post(hub.base_url + "/authorize",
                                 data={**form_fields(wrong), "email": email, "password": password, "decision": "approve"})
            assert right.status_code == 303, right.text[:300]
            params = query_of(right.headers["location"])
            expect_tokens(oauth.redeem(client, Authorization(params["code"], verifier, REDIRECT_URI, params)))
        result = scrape(metrics_url)
        check_families(result, {"gatehouse_sign_ins_total": ("counter", {"method", "outcome"})})
        counted = {(s.labels["method"], s.labels["outcome"]): s.value for s in result.select("gatehouse_sign_ins_total")}
        assert counted == {("password", "failed"): 1, ("password", "succeeded"): 1}, result.describe("gatehouse_sign_ins_total")
        assert email not in result.text and client.client_id not in result.text
    finally:
        hub.stop(check=True)


def test_jwks_fetches_are_counted(issuer: LocalIssuer) -> None:
    """A hub verifying the local issuer's JWTs (MCP_JWT_ISSUER): the SDK's first call makes it
    fetch the JWKS, counted in gatehouse_provider_fetches_total{kind="jwks",outcome="ok"} with
    its duration; the call is an accepted decision; the subject is no label. (The metrics port
    is set with GATEHOUSE_METRICS_PORT here.)"""
    hub, metrics_url = metrics_hub("ops-jwks", ["--env", f"MCP_JWT_ISSUER={issuer.issuer}"], by_environment=True)
    start(hub)
    try:
        subject = "ops-jwks-" + secrets.token_hex(4)
        token = issuer.mint(subject, hub.mcp_url, client_id="ops-jwks-client")

        async def body(client: Client) -> dict[str, Any]:
            return (await client.call_tool("whoami", {})).structured_content

        assert with_bearer(hub.mcp_url, token, body)["subject"] == subject
        result = scrape(metrics_url)
        check_families(result, {
            "gatehouse_provider_fetches_total": ("counter", {"kind", "outcome"}),
            "gatehouse_provider_fetch_duration_seconds": ("histogram", {"kind"}),
        })
        assert (result.value("gatehouse_provider_fetches_total", kind="jwks", outcome="ok") or 0) >= 1, (
            result.describe("gatehouse_provider_fetches_total"))
        assert result.value("gatehouse_provider_fetches_total", kind="jwks", outcome="failed") is None
        assert check_histogram(result, "gatehouse_provider_fetch_duration_seconds", kind="jwks") >= 1
        assert (result.value("gatehouse_auth_decisions_total", outcome="accepted", reason="none") or 0) >= 1
        for secret in (token, subject, "ops-jwks-client", issuer.issuer):
            assert not [v for v in result.label_values() if secret in v], secret
    finally:
        hub.stop(check=True)


def test_gateway_metrics_name_the_upstream_and_the_namespaced_tool() -> None:
    """`gatehouse gateway --metrics-port` with the stdio upstream "files": after the SDK called
    files_shout, the upstream is up, its requests and their durations are counted by upstream
    name, and the tool call by its namespaced name. Two made-up tool names (one under no
    upstream's prefix, one under "files_") are both "unknown", never themselves."""
    script = PEERS_DIR / "gateway_stdio_upstream.py"
    gateway, metrics_url = metrics_hub(
        "ops-gateway", ["--provider", "none", "--upstream", f"files=stdio:{sys.executable} {script}"], command="gateway"
    )
    start(gateway)
    try:
        made_up = ["nowhere_made_up_" + secrets.token_hex(4), "files_made_up_" + secrets.token_hex(4)]

        async def body(client: Client) -> str:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert {"files_shout", "files_pid", "files_crash"} <= names, names
            shouted = await client.call_tool("files_shout", {"text": "metrics"})
            assert shouted.is_error is not True, shouted
            for name in made_up:
                try:
                    unknown = await client.call_tool(name, {})
                    assert unknown.is_error is True, unknown
                except MCPError:
                    pass
            return shouted.content[0].text

        assert with_bearer(gateway.mcp_url, None, body) == "METRICS!"
        result = scrape(metrics_url)
        check_families(result, {
            "gatehouse_gateway_upstream_up": ("gauge", {"upstream"}),
            "gatehouse_gateway_upstream_requests_total": ("counter", {"upstream", "outcome"}),
            "gatehouse_gateway_upstream_duration_seconds": ("histogram", {"upstream"}),
            "gatehouse_tool_calls_total": ("counter", {"tool", "outcome"}),
            "gatehouse_tool_call_duration_seconds": ("histogram", {"tool"}),
            "gatehouse_http_requests_total": ("counter", {"route", "method", "status"}),
        })
        assert result.value("gatehouse_gateway_upstream_up", upstream="files") == 1, result.describe("gatehouse_gateway_upstream_up")
        ok = result.value("gatehouse_gateway_upstream_requests_total", upstream="files", outcome="ok") or 0
        assert ok >= 2, result.describe("gatehouse_gateway_upstream_requests_total")  # tools/list and tools/call at least
        assert check_histogram(result, "gatehouse_gateway_upstream_duration_seconds", upstream="files") == (
            result.total("gatehouse_gateway_upstream_requests_total", upstream="files"))
        assert result.value("gatehouse_tool_calls_total", tool="files_shout", outcome="ok") == 1, result.describe("gatehouse_tool_calls_total")
        assert check_histogram(result, "gatehouse_tool_call_duration_seconds", tool="files_shout") == 1
        assert (result.value("gatehouse_http_requests_total", route="/mcp", method="POST", status="200") or 0) >= 2
        # Last: the made-up names (a caller can send any number of them) are no label values.
        tools = {s.labels["tool"] for s in result.select("gatehouse_tool_calls_total")}
        assert tools == {"files_shout", "unknown"}, result.describe("gatehouse_tool_calls_total")
        for name in made_up:
            assert name not in result.text, f"the made-up tool name {name} is a label value"
    finally:
        gateway.stop(check=True)


# ======================================================================================
# 2. Audit log
# ======================================================================================


@dataclass
class AuditRun:
    hub: GatehouseServer
    lines: list[str]
    events: list[dict[str, Any]]
    server_log: str
    started: datetime
    ended: datetime
    email: str
    sdk_client_id: str
    confidential_client_id: str
    subject: str
    made_up_tool: str
    refused_token: str
    # name -> value: what must appear nowhere
    secrets: dict[str, str]

    def named(self, name: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event.get("event") == name]

    def describe(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture(scope="module")
def audit_run(tmp_path_factory: pytest.TempPathFactory) -> AuditRun:
    """The traffic of the module docstring on a plain hub with --audit-log FILE."""
    folder = tmp_path_factory.mktemp("audit")
    audit_path = folder / "audit.jsonl"
    hub = start(GatehouseServer("ops-audit", ["--audit-log", str(audit_path), "--rate-limit-tools", "echo=1/hour"]))
    try:
        started = datetime.now(timezone.utc)
        email, password, wrong_password = "carol@example.com", "carol's long password", "carol's wrong password 1"
        hub.add_user(email, "Carol", password)
        made_up = "made_up_" + secrets.token_hex(6)

        # The SDK: registration, the sign-in form, tools, a notes tool, a rate-limited echo.
        storage, traffic = FileTokenStorage(folder / "oauth.json"), Traffic()
        browser = SigningInBrowser(email, password)

        async def body(client: Client) -> dict[str, Any]:
            assert (await client.call_tool("add", {"a": 1, "b": 2})).structured_content == {"result": 3}
            whoami = (await client.call_tool("whoami", {})).structured_content
            assert (await client.call_tool("add_tool", {"tool_name": "notes", "config": {"notebook": "Audit"}})).is_error is not True
            assert (await client.call_tool("notes_add", {"text": "audited"})).is_error is not True
            assert (await client.call_tool("echo", {"text": "once"})).is_error is not True
            with pytest.raises(MCPError) as limited:
                await client.call_tool("echo", {"text": "twice"})
            assert limited.value.code == RATE_LIMITED, limited.value.error
            with pytest.raises(MCPError):
                await client.call_tool(made_up, {})
            return whoami

        whoami = run_sdk(hub, "auto", make_provider(hub, storage, browser), traffic, body)
        sdk_code = browser.redirects[0]["code"]
        sdk_verifiers = [form["code_verifier"] for _, _, _, _, form in traffic.seen if "code_verifier" in form]
        assert sdk_verifiers, traffic.describe()
        sdk_access, sdk_refresh, sdk_client = storage.access_token, storage.refresh_token, storage.client_id

        with httpx2.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as http:
            oauth = EmbeddedAS(hub, http)
            # A confidential client signs in with a wrong, then the right password.
            confidential = oauth.new_client(client_name="ops audit confidential", token_endpoint_auth_method="client_secret_basic")
            assert confidential.secret
            page, verifier = oauth.authorize(confidential)
            wrong = http.post(hub.base_url + "/authorize",
                              data={**form_fields(page), "email": email, "password": wrong_password, "decision": "approve"})
            assert wrong.status_code == 401, wrong.text[:300]
            right = http.post(hub.base_url + "/authorize",
                              data={**form_fields(wrong), "email": email, "password": password, "decision": "approve"})
            assert right.status_code == 303, right.text[:300]
            code = query_of(right.headers["location"])["code"]
            redemption = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                          "code_verifier": verifier, "resource": hub.mcp_url}
            auth = (confidential.client_id, confidential.secret)
            confidential_tokens = expect_tokens(oauth.post_form("/token", redemption, auth=auth))
            # The code again: invalid_grant, token.reused, the login revoked.
            expect_oauth_error(oauth.post_form("/token", redemption, auth=auth), 400, "invalid_grant")

            # Denied on the page.
            page, denied_verifier = oauth.authorize(confidential)
            denied = http.post(hub.base_url + "/authorize", data={**form_fields(page), "decision": "deny"})
            assert denied.status_code == 303 and query_of(denied.headers["location"])["error"] == "access_denied", denied.text

            # The SDK's refresh token rotated, the new one revoked (RFC 7009).
            refreshed = expect_tokens(oauth.refresh(sdk_client, sdk_refresh))
            revoked = oauth.post_form("/revoke", {"token": refreshed["refresh_token"], "client_id": sdk_client})
            assert revoked.status_code == 200, revoked.text

            # One refused token; requests without a token are no event.
            refused_token = "refused-" + secrets.token_urlsafe(24)
            refused = http.post(hub.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                headers={"Authorization": f"Bearer {refused_token}", "Accept": ACCEPT_BOTH})
            assert refused.status_code == 401, refused.text
            for _ in range(2):
                anonymous = http.post(hub.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Accept": ACCEPT_BOTH})
                assert anonymous.status_code == 401 and "error=" not in anonymous.headers.get("www-authenticate", ""), anonymous.headers

        ended = datetime.now(timezone.utc)
        text = audit_path.read_text()
        lines = text.splitlines()
        events = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except ValueError:
                events.append({"unparsable": line})
        return AuditRun(
            hub, lines, events, hub.log_text(), started, ended, email, sdk_client, confidential.client_id, whoami["subject"],
            made_up, refused_token,
            secrets={
                "SDK access token": sdk_access,
                "SDK refresh token": sdk_refresh,
                "rotated refresh token": refreshed["refresh_token"],
                "refreshed access token": refreshed["access_token"],
                "confidential access token": confidential_tokens["access_token"],
                "confidential refresh token": confidential_tokens["refresh_token"],
                "SDK authorization code": sdk_code,
                "authorization code": code,
                "client secret": confidential.secret,
                "password": password,
                "wrong password": wrong_password,
                "refused token": refused_token,
                "PKCE verifier": verifier,
                "PKCE verifier of the denied request": denied_verifier,
                **{f"SDK PKCE verifier {i}": v for i, v in enumerate(sdk_verifiers)},
            },
        )
    finally:
        hub.stop(check=True)


def test_every_audit_line_is_json_with_time_and_event(audit_run: AuditRun) -> None:
    """Each line is one JSON object whose "time" is ISO 8601 UTC with milliseconds and Z (within
    the run) and whose "event" is a documented name; every documented event was written."""
    assert audit_run.lines, "the audit log is empty"
    for line, event in zip(audit_run.lines, audit_run.events):
        assert "unparsable" not in event and isinstance(event, dict), f"not a JSON object: {line!r}"
        assert list(event)[:2] == ["time", "event"], line
        assert AUDIT_TIME.match(event["time"]), f"time {event['time']!r} is not ISO 8601 UTC with milliseconds: {line}"
        moment = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        assert audit_run.started.timestamp() - 1 <= moment.timestamp() <= audit_run.ended.timestamp() + 1, line
        assert event["event"] in AUDIT_EVENTS, line
    written = {event["event"] for event in audit_run.events}
    assert written == AUDIT_EVENTS, f"never written: {sorted(AUDIT_EVENTS - written)}\n{audit_run.describe()}"


def test_authentication_refused_only_for_presented_tokens(audit_run: AuditRun) -> None:
    """One authentication.refused, for the one refused token (reason malformed, the path, the
    address, a description); the SDK's first request and the raw requests without a token
    wrote none."""
    refused = audit_run.named("authentication.refused")
    assert len(refused) == 1, audit_run.describe()
    event = refused[0]
    assert event["reason"] == "malformed" and event["path"] == "/mcp" and event["address"] == "127.0.0.1", event
    assert isinstance(event.get("description"), str) and event["description"], event


def test_sign_in_events(audit_run: AuditRun) -> None:
    """sign_in.failed for the wrong password (reason wrong_password, the email, the address) and
    sign_in.succeeded for the two right ones (the user id, the email)."""
    failed = audit_run.named("sign_in.failed")
    assert len(failed) == 1, audit_run.describe()
    assert {k: failed[0][k] for k in ("method", "reason", "email", "address")} == {
        "method": "password", "reason": "wrong_password", "email": audit_run.email, "address": "127.0.0.1"}, failed
    succeeded = audit_run.named("sign_in.succeeded")
    assert len(succeeded) == 2, audit_run.describe()
    for event in succeeded:
        assert event["method"] == "password" and event["email"] == audit_run.email and event["address"] == "127.0.0.1", event
        assert event["sub"] == audit_run.subject, event


def test_consent_events(audit_run: AuditRun) -> None:
    """consent.granted for both sign-ins (sub, email, client, resource, redirect URI, scopes) and
    consent.denied for the deny button (client, resource, scopes)."""
    granted = audit_run.named("consent.granted")
    assert sorted(event["client_id"] for event in granted) == sorted([audit_run.sdk_client_id, audit_run.confidential_client_id])
    for event in granted:
        assert event["sub"] == audit_run.subject and event["email"] == audit_run.email, event
        assert event["resource"] == audit_run.hub.mcp_url and event["redirect_uri"] == REDIRECT_URI, event
        assert isinstance(event["scopes"], str), event
    denied = audit_run.named("consent.denied")
    assert len(denied) == 1, audit_run.describe()
    assert denied[0]["client_id"] == audit_run.confidential_client_id and denied[0]["resource"] == audit_run.hub.mcp_url, denied
    assert isinstance(denied[0]["scopes"], str), denied


def test_client_registered(audit_run: AuditRun) -> None:
    """client.registered for the SDK's public client and the confidential one: client id,
    name, redirect URIs, confidential, the address."""
    registered = {event["client_id"]: event for event in audit_run.named("client.registered")}
    assert set(registered) == {audit_run.sdk_client_id, audit_run.confidential_client_id}, audit_run.describe()
    public, confidential = registered[audit_run.sdk_client_id], registered[audit_run.confidential_client_id]
    assert public["confidential"] is False and confidential["confidential"] is True, registered
    assert confidential["client_name"] == "ops audit confidential", confidential
    for event in registered.values():
        assert event["redirect_uris"] == [REDIRECT_URI] and event["address"] == "127.0.0.1", event


def test_token_events(audit_run: AuditRun) -> None:
    """token.issued for both code redemptions, token.refreshed for the refresh, token.reused
    for the replayed code (credential authorization_code), token.revoked for the RFC 7009
    request (by client); each with the client, and the family where there is one."""
    issued = audit_run.named("token.issued")
    assert sorted(event["client_id"] for event in issued) == sorted([audit_run.sdk_client_id, audit_run.confidential_client_id])
    for event in issued:
        assert event["sub"] == audit_run.subject and event["resource"] == audit_run.hub.mcp_url, event
        assert event["family"].startswith("fam_") and isinstance(event["scopes"], str), event
    sdk_family = next(event["family"] for event in issued if event["client_id"] == audit_run.sdk_client_id)
    confidential_family = next(event["family"] for event in issued if event["client_id"] == audit_run.confidential_client_id)
    refreshed = audit_run.named("token.refreshed")
    assert len(refreshed) == 1 and refreshed[0]["client_id"] == audit_run.sdk_client_id, audit_run.describe()
    assert refreshed[0]["family"] == sdk_family and refreshed[0]["sub"] == audit_run.subject, refreshed
    reused = audit_run.named("token.reused")
    assert len(reused) == 1, audit_run.describe()
    assert reused[0]["credential"] == "authorization_code" and reused[0]["client_id"] == audit_run.confidential_client_id, reused
    assert reused[0]["family"] == confidential_family, reused
    revoked = audit_run.named("token.revoked")
    assert len(revoked) == 1, audit_run.describe()
    assert {k: revoked[0][k] for k in ("by", "client_id", "sub", "family")} == {
        "by": "client", "client_id": audit_run.sdk_client_id, "sub": audit_run.subject, "family": sdk_family}, revoked


def test_tool_called(audit_run: AuditRun) -> None:
    """tool.called per call: tool, outcome, duration_ms, sub, iss, client_id; the made-up name is
    "unknown" (outcome refused); the rate-limited echo is no call."""
    called = audit_run.named("tool.called")
    assert [(e["tool"], e["outcome"]) for e in called] == [
        ("add", "ok"), ("whoami", "ok"), ("add_tool", "ok"), ("notes_add", "ok"), ("echo", "ok"), ("unknown", "refused")
    ], audit_run.describe()
    for event in called:
        assert event["sub"] == audit_run.subject and event["client_id"] == audit_run.sdk_client_id, event
        assert "arguments" not in event, event
        assert event["iss"] == audit_run.hub.base_url, event
        assert isinstance(event["duration_ms"], (int, float)) and 0 <= event["duration_ms"] < 10_000, event
    assert audit_run.made_up_tool not in "\n".join(audit_run.lines)


def test_hub_tools_changed(audit_run: AuditRun) -> None:
    """add_tool notes: hub.tools_changed with action added, the tool, the user."""
    changed = audit_run.named("hub.tools_changed")
    assert len(changed) == 1, audit_run.describe()
    event = changed[0]
    assert event["action"] == "added" and event["tool"] == "notes" and event["sub"] == audit_run.subject, event
    assert isinstance(event["user_id"], int) and event["iss"] == audit_run.hub.base_url, event


def test_rate_limited_event(audit_run: AuditRun) -> None:
    """The second echo (echo=1/hour): rate.limited with limit tool, tool echo, the caller."""
    limited = audit_run.named("rate.limited")
    assert len(limited) == 1, audit_run.describe()
    event = limited[0]
    assert {k: event.get(k) for k in ("limit", "tool", "sub", "client_id", "address")} == {
        "limit": "tool", "tool": "echo", "sub": audit_run.subject, "client_id": audit_run.sdk_client_id, "address": "127.0.0.1"}, event


def test_no_secret_in_the_audit_log_or_the_server_log(audit_run: AuditRun) -> None:
    """No access or refresh token, authorization code, client secret, password, PKCE verifier or
    refused token appears anywhere in the audit file or in the server's output (debug level)."""
    audit = "\n".join(audit_run.lines)
    for what, secret in audit_run.secrets.items():
        assert secret and len(secret) >= 8, what
        assert secret not in audit, f"the {what} is in the audit log"
    leaks = [what for what, secret in audit_run.secrets.items() if secret in audit_run.server_log]
    assert not leaks, f"in the server log: {leaks}"


def test_tool_arguments_are_audited_only_when_asked(issuer: LocalIssuer, tmp_path: Path) -> None:
    """GATEHOUSE_AUDIT_TOOL_ARGUMENTS=true puts each call's arguments in tool.called (the default
    audit run above has none); without the audit log the setting records nothing."""
    audit = tmp_path / "audit.jsonl"
    hub = start(GatehouseServer("ops-audit-arguments", ["--env", f"MCP_JWT_ISSUER={issuer.issuer}", "--audit-log", str(audit),
                                                      "--env", "GATEHOUSE_AUDIT_TOOL_ARGUMENTS=true"]))
    try:
        token = issuer.mint("arguments-user", hub.mcp_url, client_id="ops-app")
        assert raw_tool_call(hub.mcp_url, token, "echo", {"text": "audited words"}).status_code == 200
    finally:
        hub.stop(check=True)
    called = [json.loads(line) for line in audit.read_text().splitlines() if '"tool.called"' in line]
    assert [event["arguments"] for event in called] == [{"text": "audited words"}], called


def test_audit_log_to_standard_output(tmp_path: Path) -> None:
    """`--audit-log -`: the events are JSON lines on standard output; the server's log (standard
    error) holds none of them."""
    port = free_port()
    argv = [binary(), "hub", "--host", "127.0.0.1", "--port", str(port), "--dev-auto-approve", "--audit-log", "-"]
    stdout_path, stderr_path = tmp_path / "stdout", tmp_path / "stderr"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=tmp_path, env=clean_env())
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while True:
                assert process.poll() is None, f"exited {process.returncode}: {stderr_path.read_text()}"
                try:
                    if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200:
                        break
                except httpx2.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the hub did not start"
                time.sleep(0.1)
            refused = httpx2.post(f"http://127.0.0.1:{port}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                  headers={"Authorization": "Bearer not-a-jwt", "Accept": ACCEPT_BOTH}, timeout=HTTP_TIMEOUT_S)
            assert refused.status_code == 401
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
    assert process.returncode == 0, stderr_path.read_text()
    stdout, stderr = stdout_path.read_text(), stderr_path.read_text()
    audit = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    assert [event["event"] for event in audit] == ["authentication.refused"], stdout
    assert audit[0]["reason"] == "malformed" and AUDIT_TIME.match(audit[0]["time"]), audit
    assert "authentication.refused" not in stderr, stderr


@pytest.mark.parametrize("how", ["flag-directory", "environment-directory", "flag-missing-folder"])
def test_unwritable_audit_log_stops_the_hub(tmp_path: Path, how: str) -> None:
    """An audit log that cannot be opened for appending stops start-up: exit 78 (EX_CONFIG) and
    one message naming GATEHOUSE_AUDIT_LOG."""
    target = str(tmp_path) if how != "flag-missing-folder" else str(tmp_path / "missing" / "audit.jsonl")
    argv = [binary(), "hub", "--host", "127.0.0.1", "--port", str(free_port()), "--dev-auto-approve"]
    env = clean_env()
    if how.startswith("flag"):
        argv += ["--audit-log", target]
    else:
        env["GATEHOUSE_AUDIT_LOG"] = target
    code, stdout, stderr = run_process(argv, env, str(tmp_path))
    assert code == 78, f"exit {code}\n{stdout}\n{stderr}"
    assert "GATEHOUSE_AUDIT_LOG" in stderr and target in stderr, stderr


# ======================================================================================
# 3. Rate limits
# ======================================================================================


def jwt_hub(name: str, issuer: LocalIssuer, *limits: str) -> tuple[GatehouseServer, str]:
    hub, metrics_url = metrics_hub(name, ["--env", f"MCP_JWT_ISSUER={issuer.issuer}", *limits])
    return start(hub), metrics_url


def test_user_limit_refuses_one_user_and_not_another(issuer: LocalIssuer) -> None:
    """--rate-limit-user 4/hour: the SDK of one user gets four requests through (server/discover,
    tools/call, the tools/list the SDK makes after its first call, tools/call); the fifth is
    HTTP 429 with Retry-After and the SDK raises MCPError -32029 with data {limit: user,
    allowed: 4/hour, retryAfter}. A raw request of that user is 429 with id null. Another user
    is unaffected. Counted in gatehouse_rate_limited_total{limit="user"}."""
    hub, metrics_url = jwt_hub("ops-limit-user", issuer, "--rate-limit-user", "4/hour")
    try:
        limited_token = issuer.mint("user-limited", hub.mcp_url, client_id="ops-app")
        other_token = issuer.mint("user-unaffected", hub.mcp_url, client_id="ops-app")
        responses = Responses()

        async def until_refused(client: Client) -> tuple[int, MCPError]:
            for answered in range(10):
                try:
                    await client.call_tool("whoami", {})
                except MCPError as error:
                    return answered, error
            raise AssertionError("never rate limited")

        answered, error = with_bearer(hub.mcp_url, limited_token, until_refused, responses)
        posts = responses.posts(hub.mcp_url)
        assert [status for _, status, _ in posts] == [200, 200, 200, 200, 429], responses.describe()
        assert [rpc for rpc, status, _ in posts if status == 200].count("tools/call") == answered == 2, responses.describe()
        assert posts[-1][0] == "tools/call", responses.describe()
        assert error.code == RATE_LIMITED and "rate limit" in error.message, error.error
        assert error.data["limit"] == "user" and error.data["allowed"] == "4/hour" and "tool" not in error.data, error.data
        assert posts[-1][2].get("retry-after") == str(error.data["retryAfter"]), posts[-1][2]
        assert 1 <= error.data["retryAfter"] <= 3600

        expect_rate_limited(raw_tool_call(hub.mcp_url, limited_token, "whoami", {}, request_id=31), "user", "4/hour", 3600, None)

        async def whoami(client: Client) -> dict[str, Any]:
            return (await client.call_tool("whoami", {})).structured_content

        assert with_bearer(hub.mcp_url, other_token, whoami)["subject"] == "user-unaffected"
        result = scrape(metrics_url)
        assert result.value("gatehouse_rate_limited_total", limit="user") == 2, result.describe("gatehouse_rate_limited_total")
        assert result.value("gatehouse_http_requests_total", route="/mcp", method="POST", status="429") == 2
    finally:
        hub.stop(check=True)


def test_client_limit_counts_every_user_of_the_client(issuer: LocalIssuer) -> None:
    """--rate-limit-client 4/hour: carol (client shared-app) makes three requests (discover,
    tools/call, tools/list), dave (the same client) one more (discover) and his call is refused
    (limit client, HTTP 429 with Retry-After); erin of another client goes on, and carol is
    refused too now (id null)."""
    hub, _ = jwt_hub("ops-limit-client", issuer, "--rate-limit-client", "4/hour")
    try:
        carol = issuer.mint("carol", hub.mcp_url, client_id="shared-app")
        dave = issuer.mint("dave", hub.mcp_url, client_id="shared-app")
        erin = issuer.mint("erin", hub.mcp_url, client_id="other-app")

        async def whoami(client: Client) -> dict[str, Any]:
            return (await client.call_tool("whoami", {})).structured_content

        carols = Responses()
        assert with_bearer(hub.mcp_url, carol, whoami, carols)["subject"] == "carol"
        assert [s for _, s, _ in carols.posts(hub.mcp_url)] == [200, 200, 200], carols.describe()

        async def refused(client: Client) -> MCPError:
            with pytest.raises(MCPError) as raised:
                await client.call_tool("whoami", {})
            return raised.value

        responses = Responses()
        error = with_bearer(hub.mcp_url, dave, refused, responses)
        assert [(rpc, s) for rpc, s, _ in responses.posts(hub.mcp_url)] == [("server/discover", 200), ("tools/call", 429)], (
            responses.describe())
        assert error.code == RATE_LIMITED and error.data["limit"] == "client" and error.data["allowed"] == "4/hour", error.error
        assert responses.posts(hub.mcp_url)[-1][2].get("retry-after") == str(error.data["retryAfter"])

        assert with_bearer(hub.mcp_url, erin, whoami)["subject"] == "erin"
        expect_rate_limited(raw_tool_call(hub.mcp_url, carol, "whoami", {}, request_id="c-1"), "client", "4/hour", 3600, None)
    finally:
        hub.stop(check=True)


def test_tool_limit_refuses_only_that_tool_and_echoes_the_id(issuer: LocalIssuer) -> None:
    """--rate-limit-tools whoami=2/hour,echo=1/s: a user's third whoami is refused (MCPError
    -32029, data {limit: tool, tool: whoami, allowed: 2/hour, retryAfter}); the user's other
    tools go on; a raw refused call answers its own id (429, Retry-After); another user's
    whoami is unaffected."""
    hub, _ = jwt_hub("ops-limit-tool", issuer, "--rate-limit-tools", "whoami=2/hour,echo=1/s")
    try:
        frank = issuer.mint("frank", hub.mcp_url, client_id="ops-app")
        grace = issuer.mint("grace", hub.mcp_url, client_id="ops-app")
        responses = Responses()

        async def body(client: Client) -> MCPError:
            for _ in range(2):
                assert (await client.call_tool("whoami", {})).structured_content["subject"] == "frank"
            with pytest.raises(MCPError) as raised:
                await client.call_tool("whoami", {})
            for _ in range(3):
                assert (await client.call_tool("add", {"a": 1, "b": 1})).structured_content == {"result": 2}
            assert (await client.call_tool("echo", {"text": "still here"})).is_error is not True
            return raised.value

        error = with_bearer(hub.mcp_url, frank, body, responses)
        assert error.code == RATE_LIMITED, error.error
        assert error.data["limit"] == "tool" and error.data["tool"] == "whoami" and error.data["allowed"] == "2/hour", error.data
        refused = [(rpc, headers) for rpc, status, headers in responses.posts(hub.mcp_url) if status == 429]
        assert len(refused) == 1 and refused[0][0] == "tools/call", responses.describe()
        assert refused[0][1].get("retry-after") == str(error.data["retryAfter"])

        data = expect_rate_limited(raw_tool_call(hub.mcp_url, frank, "whoami", {}, request_id=4242), "tool", "2/hour", 3600, 4242)
        assert data["tool"] == "whoami", data
        added = raw_tool_call(hub.mcp_url, frank, "add", {"a": 2, "b": 2}, request_id=7)
        assert added.status_code == 200 and added.json()["result"]["structuredContent"] == {"result": 4}, added.text

        async def whoami(client: Client) -> dict[str, Any]:
            return (await client.call_tool("whoami", {})).structured_content

        assert with_bearer(hub.mcp_url, grace, whoami)["subject"] == "grace"
    finally:
        hub.stop(check=True)


def test_limit_resets_in_the_next_window(issuer: LocalIssuer) -> None:
    """echo=1/s: the first echo opens the bucket's one-second window, the next one within it is
    refused with retryAfter 1 (and Retry-After: 1); once the window has closed (one second after
    the first echo) echo works again. Should a loaded machine take a second between the two
    calls, the pair is tried once more (bounded: about 4 s in all)."""
    hub, _ = jwt_hub("ops-limit-reset", issuer, "--rate-limit-tools", "echo=1/s")
    try:
        token = issuer.mint("heidi", hub.mcp_url, client_id="ops-app")
        responses = Responses()

        async def body(client: Client) -> tuple[MCPError, float, str]:
            for attempt in range(2):
                began = time.time()
                assert (await client.call_tool("echo", {"text": "first"})).is_error is not True
                try:
                    await client.call_tool("echo", {"text": "second"})
                except MCPError as error:
                    refused, refused_at = error, time.time()
                    break
                assert time.time() - began >= 1.0, "two echo calls within one second, both answered: echo=1/s is not enforced"
                await asyncio.sleep(1.05)  # let the window the second call opened close
            else:
                raise AssertionError("the machine never made two calls within one second")
            # The window opened with the first call closes one second after it.
            await asyncio.sleep(max(0.0, began + 1.0 - time.time()) + 0.05)
            again = await client.call_tool("echo", {"text": "third"})
            assert again.is_error is not True, again
            return refused, time.time() - refused_at, again.content[0].text

        error, waited, echoed = with_bearer(hub.mcp_url, token, body, responses)
        assert error.code == RATE_LIMITED and error.data == {"limit": "tool", "allowed": "1/s", "retryAfter": 1, "tool": "echo"}, error.error
        assert [h.get("retry-after") for _, s, h in responses.posts(hub.mcp_url) if s == 429] == ["1"], responses.describe()
        assert waited <= 2.0 and "third" in echoed, (waited, echoed)
    finally:
        hub.stop(check=True)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("--rate-limit-user", "600"),
        ("GATEHOUSE_RATE_LIMIT_USER", "600"),
        ("--rate-limit-client", "5/fortnight"),
        ("--rate-limit-tools", "whoami"),
        ("--rate-limit-tools", "whoami=0/min"),
        ("--rate-limit-tools", "x=1/min,"),
        ("GATEHOUSE_RATE_LIMIT_TOOLS", "x=1/min,"),
    ],
)
def test_bad_rate_limit_values_stop_the_hub(tmp_path: Path, setting: str, value: str) -> None:
    """A malformed limit stops start-up with exit 78 and one message naming the setting."""
    argv = [binary(), "hub", "--host", "127.0.0.1", "--port", str(free_port()), "--provider", "none"]
    env = clean_env()
    if setting.startswith("--"):
        argv += [setting, value]
    else:
        env[setting] = value
    code, stdout, stderr = run_process(argv, env, str(tmp_path), timeout=3.0)
    assert code is not None, f"the hub started with {setting}={value!r} instead of refusing it:\n{stdout}\n{stderr}"
    assert code == 78, f"exit {code}\n{stdout}\n{stderr}"
    assert setting in stderr, stderr
