#!/usr/bin/env python3
"""Authenticated HTTP benchmark: Gatehouse against FastMCP and the official Python MCP SDK server.

Run it through bench/http.sh, which installs wrk and the Python packages and builds the release binary:

    bench/http.sh [--duration 10] [--connections 16] [--threads 2] [--warmup 3]

or directly, from bench/.venv:

    bench/.venv/bin/python bench/harness.py --gatehouse-bin .build/release/gatehouse [options]

What it does, one server at a time:
  1. A local OAuth issuer (a thread here) generates an RSA key and serves RFC 8414 metadata
     (/.well-known/oauth-authorization-server) and the JWKS (/jwks) on 127.0.0.1.
  2. Each server starts pinned to one core (`taskset -c 0`), on a free 127.0.0.1 port, verifying RS256
     tokens from that issuer (iss, aud = the server's MCP endpoint URL, exp, signature by JWKS kid).
  3. Probes: a tools/call with the token must answer 200 with the sum, one without a token must be
     refused (401) when auth is on. Session runs first do initialize + notifications/initialized.
  4. wrk (pinned to another core) warms up, then measures: req/s and latency percentiles from
     bench/wrk/mcp_call.lua, server CPU time (utime+stime of the server's process tree from
     /proc/PID/stat, after minus before, per request) and peak RSS (VmHWM).
  5. The server is stopped (SIGTERM, then SIGKILL), and the next one starts.

Runs: Gatehouse, FastMCP and the SDK in the stateless 2026-07-28 protocol and in a 2025-11-25 session,
all with auth, plus Gatehouse with auth off. A server that fails to start or to answer is recorded as
failed with the reason, and the others still run. Results: bench/results/http-latest.json, .md and .png;
server logs and raw wrk output in bench/results/tmp/.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import importlib.metadata
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
TMP_DIR = RESULTS_DIR / "tmp"
LUA_SCRIPT = BENCH_DIR / "wrk" / "mcp_call.lua"
PEERS_DIR = BENCH_DIR / "peers"

STATELESS_VERSION = "2026-07-28"
SESSION_VERSION = "2025-11-25"

HTTP_TIMEOUT_S = 5.0
STOP_GRACE_S = 5.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


# ------------------------------------------------------------------------------------------- issuer


class LocalIssuer:
    """RFC 8414 metadata and a JWKS on 127.0.0.1, and RS256 tokens signed with its key."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "bench-" + secrets.token_hex(4)
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.hits: dict[str, int] = {}

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_uri(self) -> str:
        return self.issuer + "/jwks"

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.jwks_uri,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["mcp:read", "mcp:write"],
        }

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.kid,
                    "n": b64url_uint(numbers.n),
                    "e": b64url_uint(numbers.e),
                }
            ]
        }

    def mint(self, audience: str, lifetime_s: int = 3600, issuer: str | None = None) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer or self.issuer,
            "sub": "bench-user",
            "aud": audience,
            "iat": now,
            "nbf": now - 5,
            "exp": now + lifetime_s,
            "scope": "mcp:read mcp:write",
            "client_id": "bench-client",
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def start(self) -> "LocalIssuer":
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?", 1)[0]
                issuer.hits[path] = issuer.hits.get(path, 0) + 1
                if path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
                    self._json(200, issuer.metadata())
                elif path == "/jwks":
                    self._json(200, issuer.jwks())
                else:
                    self._json(404, {"error": "not_found"})

            def _json(self, status: int, value: Any) -> None:
                body = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "max-age=3600")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="issuer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


# ----------------------------------------------------------------------------------------- /proc


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (from /proc/*/stat parent ids)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """utime+stime of pid and its descendants, in seconds."""
    total = 0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def peak_rss_kib(pid: int) -> int:
    """Sum of VmHWM (peak resident set) over pid and its descendants, in KiB."""
    total = 0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def system_busy_seconds() -> float:
    """Busy CPU time of the whole machine (all CPUs, /proc/stat), in seconds."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def thread_count(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# ------------------------------------------------------------------------------------------- HTTP


@dataclass
class HTTPAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


def http(method: str, url: str, headers: dict[str, str] | None = None, body: Any = None) -> HTTPAnswer:
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


# ------------------------------------------------------------------------------------------ runs


@dataclass
class Run:
    server: str  # gatehouse | fastmcp | sdk
    mode: str  # stateless | session
    auth: bool

    @property
    def name(self) -> str:
        return f"{self.server}-{self.mode}" + ("" if self.auth else "-noauth")

    @property
    def protocol(self) -> str:
        return STATELESS_VERSION if self.mode == "stateless" else SESSION_VERSION

    @property
    def label(self) -> str:
        server = {"gatehouse": "Gatehouse", "fastmcp": "FastMCP", "sdk": "Python SDK"}[self.server]
        mode = "2026-07-28 stateless" if self.mode == "stateless" else "2025-11-25 session"
        return f"{server}, {mode}" + (", auth off" if not self.auth else "")


@dataclass
class ServerProcess:
    run: Run
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    _log: Any = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return self.base_url + "/mcp"

    def start(self) -> None:
        self._log = open(self.log_path, "wb")
        self._log.write(("$ " + " ".join(self.argv) + "\n").encode())
        self._log.flush()
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
            env=self.env,
            start_new_session=True,
        )

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> int | None:
        """SIGTERM to the process group, wait, then SIGKILL. Returns the exit code."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=STOP_GRACE_S)
        # Anything left in the group (a child that outlived its parent) goes too.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self._log is not None:
            self._log.close()
            self._log = None
        return process.returncode


class RunFailed(Exception):
    pass


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.issuer = LocalIssuer()
        self.current: ServerProcess | None = None
        self.pin = args.pin and shutil.which("taskset") is not None and len(os.sched_getaffinity(0)) >= 2

    # ---------------------------------------------------------------- server commands

    def taskset(self, cpu: str) -> list[str]:
        return ["taskset", "-c", cpu] if self.pin else []

    def server_process(self, run: Run) -> ServerProcess:
        port = free_port()
        workdir = TMP_DIR / run.name
        workdir.mkdir(parents=True, exist_ok=True)
        log_path = TMP_DIR / f"{run.name}.log"
        audience = f"http://127.0.0.1:{port}/mcp"
        # A clean environment: no auth or Gatehouse settings leak in from the caller.
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("GATEHOUSE_", "HUB_", "MCP_", "WORKOS_", "FASTMCP_")) and key != "LOG_LEVEL"
        }
        if run.server == "gatehouse":
            argv = [
                str(self.args.gatehouse_bin),
                "hub",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ]
            if run.auth:
                argv += ["--env", f"MCP_JWT_ISSUER={self.issuer.issuer}"]
        else:
            script = PEERS_DIR / ("fastmcp_server.py" if run.server == "fastmcp" else "sdk_server.py")
            argv = [sys.executable, str(script), "--port", str(port)]
            if run.auth:
                argv += ["--issuer", self.issuer.issuer, "--jwks-uri", self.issuer.jwks_uri, "--audience", audience]
            else:
                argv += ["--no-auth"]
            if run.mode == "stateless":
                argv += ["--stateless"]
            env["FASTMCP_CHECK_FOR_UPDATES"] = "off"
            env["FASTMCP_LOG_LEVEL"] = "WARNING"
            env["PYTHONUNBUFFERED"] = "1"
        return ServerProcess(run, self.taskset(self.args.server_cpu) + argv, env, workdir, log_path, port)

    # ---------------------------------------------------------------- protocol helpers

    def base_headers(self, run: Run, token: str | None, session: str | None) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": run.protocol,
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if run.mode == "stateless":
            headers["Mcp-Method"] = "tools/call"
            headers["Mcp-Name"] = "add"
        if session:
            headers["Mcp-Session-Id"] = session
        return headers

    def call_body(self, run: Run, request_id: int) -> dict[str, Any]:
        params: dict[str, Any] = {"name": "add", "arguments": {"a": 1, "b": 1}}
        if run.mode == "stateless":
            params["_meta"] = {
                "io.modelcontextprotocol/protocolVersion": STATELESS_VERSION,
                "io.modelcontextprotocol/clientCapabilities": {},
            }
        return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}

    def wait_ready(self, server: ServerProcess) -> float:
        """Wait until the server answers HTTP at all; returns the seconds it took."""
        started = time.monotonic()
        deadline = started + self.args.startup_timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            assert server.process is not None
            code = server.process.poll()
            if code is not None:
                raise RunFailed(f"exited with code {code} during start-up: {server.log_tail()}")
            try:
                path = "/healthz" if server.run.server == "gatehouse" else "/mcp"
                answer = http("GET", server.base_url + path, headers={"Accept": "application/json, text/event-stream"})
                if answer.status < 500:
                    return time.monotonic() - started
                last = f"HTTP {answer.status}"
            except (OSError, urllib.error.URLError) as error:
                last = repr(error)
            time.sleep(0.1)
        raise RunFailed(f"no HTTP answer within {self.args.startup_timeout:.0f} s (last: {last}): {server.log_tail()}")

    def open_session(self, server: ServerProcess, token: str | None) -> str:
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": SESSION_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"},
            },
        }
        answer = http("POST", server.mcp_url, headers, init)
        if answer.status != 200:
            raise RunFailed(f"initialize answered HTTP {answer.status}: {answer.body[:300]!r}")
        session = answer.header("Mcp-Session-Id")
        if not session:
            raise RunFailed(f"initialize answered without Mcp-Session-Id: {answer.body[:300]!r}")
        negotiated = jsonrpc_payload(answer).get("result", {}).get("protocolVersion")
        if negotiated != SESSION_VERSION:
            raise RunFailed(f"initialize negotiated {negotiated!r}, not {SESSION_VERSION}")
        headers.update({"Mcp-Session-Id": session, "MCP-Protocol-Version": SESSION_VERSION})
        note = http("POST", server.mcp_url, headers, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        if note.status not in (200, 202, 204):
            raise RunFailed(f"notifications/initialized answered HTTP {note.status}: {note.body[:300]!r}")
        return session

    def probe(self, run: Run, server: ServerProcess, token: str | None, session: str | None) -> dict[str, Any]:
        """One authenticated call (must be 200 with the sum) and, with auth, one without a token."""
        answer = http("POST", server.mcp_url, self.base_headers(run, token, session), self.call_body(run, 424242))
        content_type = answer.header("Content-Type") or ""
        if answer.status != 200:
            raise RunFailed(f"probe tools/call answered HTTP {answer.status}: {answer.body[:300]!r}")
        try:
            message = jsonrpc_payload(answer)
        except ValueError as error:
            raise RunFailed(f"probe answer is not JSON-RPC ({error}): {answer.body[:300]!r}") from error
        result = message.get("result")
        if not isinstance(result, dict) or result.get("isError"):
            raise RunFailed(f"probe tools/call failed: {answer.body[:300]!r}")
        text = json.dumps(result)
        if "2" not in text:
            raise RunFailed(f"probe tools/call result lacks the sum 2: {text[:300]}")
        info: dict[str, Any] = {
            "status": answer.status,
            "content_type": content_type.split(";")[0].strip(),
            "result": result,
            "response_bytes": len(answer.body),
        }
        if run.auth:
            # Auth must be on and must check the audience and the issuer, not only the signature.
            refusals = {
                "without_token_status": None,
                "wrong_audience_status": self.issuer.mint("http://127.0.0.1:1/other"),
                "wrong_issuer_status": self.issuer.mint(server.mcp_url, issuer="http://127.0.0.1:1"),
            }
            for key, bad_token in refusals.items():
                refused = http(
                    "POST", server.mcp_url, self.base_headers(run, bad_token, session), self.call_body(run, 424243)
                )
                info[key] = refused.status
                if refused.status != 401:
                    raise RunFailed(f"probe {key.removesuffix('_status')}: HTTP {refused.status}, not 401")
        return info

    # ---------------------------------------------------------------- wrk

    def wrk(self, run: Run, server: ServerProcess, token: str | None, session: str | None, seconds: int,
            phase: str, id_base: int) -> dict[str, Any]:
        argv = self.taskset(self.args.wrk_cpu) + [
            "wrk",
            f"-t{self.args.threads}",
            f"-c{self.args.connections}",
            f"-d{seconds}s",
            f"--timeout={self.args.request_timeout}s",
            "--latency",
            "-s",
            str(LUA_SCRIPT),
            server.mcp_url,
        ]
        env = dict(os.environ)
        env.update(
            {
                "MCP_BENCH_MODE": run.mode,
                "MCP_BENCH_PROTOCOL": run.protocol,
                "MCP_BENCH_TOKEN": token or "",
                "MCP_BENCH_SESSION": session or "",
                "MCP_BENCH_ID_BASE": str(id_base),
            }
        )
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 30)
        except subprocess.TimeoutExpired as error:
            raise RunFailed(f"wrk ({phase}) did not finish within {seconds + 30} s") from error
        (TMP_DIR / f"{run.name}.wrk-{phase}.txt").write_text(
            "$ " + " ".join(argv) + "\n" + done.stdout + ("\n--- stderr ---\n" + done.stderr if done.stderr else "")
        )
        if done.returncode != 0:
            raise RunFailed(f"wrk ({phase}) exited with {done.returncode}: {done.stderr.strip()[:300]}")
        for line in reversed(done.stdout.splitlines()):
            if line.startswith('{"requests"'):
                return json.loads(line)
        raise RunFailed(f"wrk ({phase}) printed no result line: {done.stdout[-300:]}")

    # ---------------------------------------------------------------- one run

    def measure(self, run: Run) -> dict[str, Any]:
        record: dict[str, Any] = {
            "name": run.name,
            "label": run.label,
            "server": run.server,
            "mode": run.mode,
            "protocol": run.protocol,
            "auth": run.auth,
            "status": "failed",
        }
        server = self.server_process(run)
        record["argv"] = server.argv
        record["log"] = str(server.log_path.relative_to(BENCH_DIR))
        if run.server != "gatehouse":
            record["transport"] = {
                "json_response": True,
                "stateless_http": run.mode == "stateless",
                "note": "2026-07-28 requests go to the SDK's single-exchange (stateless) path whatever "
                "stateless_http says"
                if run.mode == "stateless"
                else "initialize-era session (stateful Streamable HTTP, JSON responses)",
            }
        else:
            record["transport"] = {"note": "one endpoint serves both; the client's protocol picks stateless or session"}
        self.current = server
        try:
            log(f"{run.name}: starting on port {server.port}")
            server.start()
            assert server.process is not None
            record["startup_s"] = round(self.wait_ready(server), 3)
            token = self.issuer.mint(server.mcp_url) if run.auth else None
            session = self.open_session(server, token) if run.mode == "session" else None
            record["probe"] = self.probe(run, server, token, session)
            pid = server.process.pid
            if self.args.warmup > 0:
                log(f"{run.name}: warm-up {self.args.warmup} s")
                warm = self.wrk(run, server, token, session, self.args.warmup, "warmup", 0)
                record["warmup"] = {"requests": warm["requests"], "non2xx": warm["non2xx"]}
            if server.process.poll() is not None:
                raise RunFailed(f"exited with code {server.process.returncode} during warm-up: {server.log_tail()}")
            log(f"{run.name}: measuring {self.args.duration} s")
            cpu_before = cpu_seconds(pid)
            busy_before = system_busy_seconds()
            children_before = children_cpu_seconds()
            wall_before = time.monotonic()
            result = self.wrk(run, server, token, session, self.args.duration, "measure", 10**12)
            wall = time.monotonic() - wall_before
            cpu_after = cpu_seconds(pid)
            wrk_cpu = children_cpu_seconds() - children_before
            # CPU time the machine spent on anything but the server and wrk while measuring
            # (another build, say): a large figure means the numbers are disturbed.
            background = system_busy_seconds() - busy_before - (cpu_after - cpu_before) - wrk_cpu
            if server.process.poll() is not None:
                raise RunFailed(f"exited with code {server.process.returncode} during the run: {server.log_tail()}")
            requests = result["requests"]
            seconds = result["duration_us"] / 1e6
            cpu = cpu_after - cpu_before
            socket_errors = sum(v for k, v in result["errors"].items() if k != "status")
            record.update(
                {
                    "status": "ok",
                    "requests": requests,
                    "duration_s": round(seconds, 3),
                    "req_per_s": round(requests / seconds, 1) if seconds > 0 else 0.0,
                    "latency_ms": {k: round(v / 1000, 3) for k, v in result["latency_us"].items()},
                    "latency_us": result["latency_us"],
                    "server_cpu_s": round(cpu, 3),
                    "server_cpu_ms_per_request": round(cpu * 1000 / requests, 5) if requests else None,
                    "server_cpu_utilisation": round(cpu / wall, 3) if wall > 0 else None,
                    "peak_rss_mib": round(peak_rss_kib(pid) / 1024, 1),
                    "server_threads": thread_count(pid),
                    "wrk_cpu_s": round(wrk_cpu, 3),
                    "background_cpu_s": round(max(background, 0.0), 3),
                    "non2xx": result["non2xx"],
                    "rpc_errors": result["rpc_errors"],
                    "socket_errors": socket_errors,
                    "wrk_errors": result["errors"],
                }
            )
            if result["first_bad_status"]:
                record["first_bad_response"] = {"status": result["first_bad_status"], "body": result["first_bad_body"]}
            clean = result["non2xx"] == 0 and result["rpc_errors"] == 0 and socket_errors == 0
            record["clean"] = clean
            log(
                f"{run.name}: {record['req_per_s']:.0f} req/s, p50 {record['latency_ms']['p50']} ms, "
                f"p99 {record['latency_ms']['p99']} ms, {record['server_cpu_ms_per_request']} CPU-ms/req, "
                f"{record['peak_rss_mib']} MiB"
                + ("" if clean else f"  !! non-2xx {result['non2xx']}, rpc errors {result['rpc_errors']}, "
                   f"socket errors {socket_errors}")
            )
        except (RunFailed, OSError, ValueError, KeyError, subprocess.SubprocessError) as error:
            record["status"] = "failed"
            record["error"] = f"{type(error).__name__}: {error}" if not isinstance(error, RunFailed) else str(error)
            log(f"{run.name}: FAILED: {record['error']}")
        finally:
            record["exit_code"] = server.stop()
            self.current = None
        return record

    # ---------------------------------------------------------------- the whole run

    def runs(self) -> list[Run]:
        runs = []
        for mode in ("stateless", "session"):
            for name in ("gatehouse", "fastmcp", "sdk"):
                if name in self.args.servers:
                    runs.append(Run(name, mode, True))
        if "gatehouse" in self.args.servers:
            runs.append(Run("gatehouse", "stateless", False))
        if self.args.noauth_peers:
            for name in ("fastmcp", "sdk"):
                if name in self.args.servers:
                    runs.append(Run(name, "stateless", False))
        return runs

    def execute(self) -> dict[str, Any]:
        TMP_DIR.mkdir(parents=True, exist_ok=True)
        started = dt.datetime.now(dt.timezone.utc)
        loadavg_before = read_loadavg()
        self.issuer.start()
        log(f"issuer at {self.issuer.issuer}; pinning: {'server cpu ' + self.args.server_cpu + ', wrk cpu ' + self.args.wrk_cpu if self.pin else 'off'}")
        records = []
        try:
            for run in self.runs():
                records.append(self.measure(run))
        finally:
            self.issuer.stop()
        return {
            "benchmark": "gatehouse-http",
            "date": started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine_info(loadavg_before),
            "versions": versions(self.args.gatehouse_bin),
            "settings": {
                "duration_s": self.args.duration,
                "warmup_s": self.args.warmup,
                "connections": self.args.connections,
                "threads": self.args.threads,
                "request_timeout_s": self.args.request_timeout,
                "pinning": {"server_cpu": self.args.server_cpu, "wrk_cpu": self.args.wrk_cpu} if self.pin else None,
                "tool_call": "tools/call add {a: N, b: 1}, a unique JSON-RPC id per request",
                "token": "RS256 JWT, kid from the JWKS, iss = local issuer, aud = the server's MCP URL, exp +1 h",
            },
            "issuer_hits": dict(self.issuer.hits),
            "runs": records,
            "ratios": ratios(records),
            "auth_cost": auth_cost(records),
        }


# ------------------------------------------------------------------------------------ reporting


def read_loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return ""


def machine_info(loadavg_before: str) -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": platform.platform(),
        "loadavg_before": loadavg_before,
        "loadavg_after": read_loadavg(),
    }


def command_output(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def versions(gatehouse_bin: Path) -> dict[str, Any]:
    def package(name: str) -> str | None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    commit = command_output(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"])
    dirty = command_output(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"])
    return {
        "gatehouse": command_output([str(gatehouse_bin), "--version"]),
        "gatehouse_commit": commit + ("-dirty" if dirty else ""),
        "gatehouse_build": "release" if "/release/" in str(gatehouse_bin) else str(gatehouse_bin),
        "swift": command_output(["swift", "--version"]),
        "wrk": command_output(["wrk", "-v"]),
        "python": platform.python_version(),
        "fastmcp": package("fastmcp"),
        "mcp": package("mcp"),
        "uvicorn": package("uvicorn"),
        "starlette": package("starlette"),
        "PyJWT": package("PyJWT"),
        "cryptography": package("cryptography"),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


def find(records: list[dict[str, Any]], server: str, mode: str, auth: bool = True) -> dict[str, Any] | None:
    for record in records:
        if record["server"] == server and record["mode"] == mode and record["auth"] == auth and record["status"] == "ok":
            return record
    return None


def ratios(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gatehouse / peer for each protocol mode, both with auth, from this run."""
    out = []
    for mode in ("stateless", "session"):
        ours = find(records, "gatehouse", mode)
        for peer in ("fastmcp", "sdk"):
            theirs = find(records, peer, mode)
            if ours is None or theirs is None:
                continue
            out.append(
                {
                    "mode": mode,
                    "peer": peer,
                    "req_per_s": ratio(ours["req_per_s"], theirs["req_per_s"]),
                    "p50": ratio(ours["latency_ms"]["p50"], theirs["latency_ms"]["p50"]),
                    "p99": ratio(ours["latency_ms"]["p99"], theirs["latency_ms"]["p99"]),
                    "cpu_ms_per_request": ratio(ours["server_cpu_ms_per_request"], theirs["server_cpu_ms_per_request"]),
                    "peak_rss": ratio(ours["peak_rss_mib"], theirs["peak_rss_mib"]),
                }
            )
    return out


def auth_cost(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for server in ("gatehouse", "fastmcp", "sdk"):
        on, off = find(records, server, "stateless", True), find(records, server, "stateless", False)
        if on is None or off is None:
            continue
        out.append(
            {
                "server": server,
                "mode": "stateless",
                "req_per_s_auth_on": on["req_per_s"],
                "req_per_s_auth_off": off["req_per_s"],
                "req_per_s_ratio_on_off": ratio(on["req_per_s"], off["req_per_s"]),
                "cpu_us_per_request_added": round(
                    (on["server_cpu_ms_per_request"] - off["server_cpu_ms_per_request"]) * 1000, 1
                ),
                "p50_ms_added": round(on["latency_ms"]["p50"] - off["latency_ms"]["p50"], 3),
            }
        )
    return out


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(report: dict[str, Any]) -> str:
    m, v, s = report["machine"], report["versions"], report["settings"]
    pin = s["pinning"]
    lines = [
        "# Gatehouse HTTP benchmark",
        "",
        f"- date: {report['date']}",
        f"- machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['memory_gib']} GiB, Linux {m['kernel']}; "
        f"load average before: {m['loadavg_before'].split(' ')[0] if m['loadavg_before'] else '?'}",
        f"- Gatehouse {v['gatehouse']} ({v['gatehouse_build']} build, commit {v['gatehouse_commit']}); {v['swift']}",
        f"- FastMCP {v['fastmcp']}, mcp (Python SDK) {v['mcp']}, uvicorn {v['uvicorn']}, starlette {v['starlette']}, "
        f"PyJWT {v['PyJWT']}, Python {v['python']}; {v['wrk']}",
        f"- wrk: {s['duration_s']} s measured after {s['warmup_s']} s warm-up, {s['connections']} connections, "
        f"{s['threads']} threads; "
        + (f"server pinned to CPU {pin['server_cpu']}, wrk to CPU {pin['wrk_cpu']}" if pin else "no CPU pinning"),
        f"- every request: {s['tool_call']}; {s['token']}",
        "",
        "| server | protocol | auth | req/s | p50 ms | p99 ms | server CPU ms/req | peak RSS MiB | non-2xx | errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["runs"]:
        server = {"gatehouse": "Gatehouse", "fastmcp": "FastMCP", "sdk": "Python SDK"}[r["server"]]
        protocol = "2026-07-28 stateless" if r["mode"] == "stateless" else "2025-11-25 session"
        auth = "JWT" if r["auth"] else "off"
        if r["status"] != "ok":
            lines.append(f"| {server} | {protocol} | {auth} | failed | | | | | | |")
            continue
        errors = r["rpc_errors"] + r["socket_errors"]
        lines.append(
            f"| {server} | {protocol} | {auth} | {r['req_per_s']:.0f} | {r['latency_ms']['p50']:.2f} | "
            f"{r['latency_ms']['p99']:.2f} | {r['server_cpu_ms_per_request']:.4f} | {r['peak_rss_mib']:.1f} | "
            f"{r['non2xx']}{' ⚠' if r['non2xx'] else ''} | {errors}{' ⚠' if errors else ''} |"
        )
    if report["ratios"]:
        lines += [
            "",
            "Gatehouse / peer, same protocol, both with JWT auth, from this run (req/s above 1: Gatehouse serves more; "
            "latency, CPU and RSS below 1: Gatehouse uses less):",
            "",
            "| protocol | peer | req/s | p50 | p99 | CPU/req | peak RSS |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for q in report["ratios"]:
            peer = "FastMCP" if q["peer"] == "fastmcp" else "Python SDK"
            protocol = "2026-07-28 stateless" if q["mode"] == "stateless" else "2025-11-25 session"
            lines.append(
                f"| {protocol} | {peer} | {fmt(q['req_per_s'])} | {fmt(q['p50'])} | {fmt(q['p99'])} | "
                f"{fmt(q['cpu_ms_per_request'])} | {fmt(q['peak_rss'])} |"
            )
    if report["auth_cost"]:
        lines += ["", "Cost of auth (2026-07-28 stateless, JWT on against auth off):", ""]
        for a in report["auth_cost"]:
            name = {"gatehouse": "Gatehouse", "fastmcp": "FastMCP", "sdk": "Python SDK"}[a["server"]]
            lines.append(
                f"- {name}: {a['req_per_s_auth_on']:.0f} req/s with auth, {a['req_per_s_auth_off']:.0f} without "
                f"(×{fmt(a['req_per_s_ratio_on_off'])}); {a['cpu_us_per_request_added']:+.1f} µs server CPU and "
                f"{a['p50_ms_added']:+.3f} ms p50 per request"
            )
    lines += ["", "How each server ran:", ""]
    for r in report["runs"]:
        note = r.get("transport", {}).get("note", "")
        content_type = r.get("probe", {}).get("content_type")
        extra = []
        if r["server"] != "gatehouse":
            t = r["transport"]
            extra.append(f"json_response={t['json_response']}, stateless_http={t['stateless_http']}")
        if content_type:
            extra.append(f"answers {content_type}")
        probe = r.get("probe", {})
        if probe.get("without_token_status"):
            extra.append(
                f"no token → {probe['without_token_status']}, wrong aud → {probe['wrong_audience_status']}, "
                f"wrong iss → {probe['wrong_issuer_status']}"
            )
        lines.append(f"- {r['label']}: {note}" + (f" ({'; '.join(extra)})" if extra else ""))
    failed = [r for r in report["runs"] if r["status"] != "ok"]
    unclean = [r for r in report["runs"] if r["status"] == "ok" and not r.get("clean", True)]
    busy = [r for r in report["runs"] if r["status"] == "ok" and r["background_cpu_s"] > 0.05 * r["duration_s"]]
    if failed or unclean or busy:
        lines += ["", "Problems:", ""]
        for r in busy:
            lines.append(
                f"- {r['label']}: other processes used {r['background_cpu_s']:.2f} CPU-s during the "
                f"{r['duration_s']:.0f} s measurement (more than 5 %), so its figures may be low"
            )
        for r in failed:
            lines.append(f"- {r['label']}: failed: {r['error']}")
        for r in unclean:
            bad = r.get("first_bad_response", {})
            lines.append(
                f"- {r['label']}: {r['non2xx']} non-2xx, {r['rpc_errors']} JSON-RPC/tool errors, "
                f"{r['socket_errors']} socket errors in the measured run"
                + (f"; first: HTTP {bad.get('status')} {bad.get('body', '')[:200]!r}" if bad else "")
            )
    lines.append("")
    return "\n".join(lines)


def chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = report["runs"]
    if not runs:
        return
    colours = {"gatehouse": "#2f6db5", "fastmcp": "#e08a2c", "sdk": "#4e9a55"}
    labels = [r["label"].replace(", ", "\n", 1) for r in runs]
    y = list(range(len(runs)))[::-1]

    def values(get: Any) -> list[float | None]:
        return [get(r) if r["status"] == "ok" else None for r in runs]

    panels = [
        ("requests/s (higher is better)", values(lambda r: r["req_per_s"]), "{:.0f}"),
        ("p99 latency, ms (lower is better)", values(lambda r: r["latency_ms"]["p99"]), "{:.1f}"),
        ("server CPU ms per request (lower is better)", values(lambda r: r["server_cpu_ms_per_request"]), "{:.3f}"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(16, 1.0 + 0.62 * len(runs)), sharey=True)
    for ax, (title, panel, pattern) in zip(axes, panels):
        bars = ax.barh(y, [v or 0 for v in panel], color=[colours[r["server"]] for r in runs], edgecolor="white")
        for bar, r in zip(bars, runs):
            if not r["auth"]:
                bar.set_alpha(0.45)
        ax.set_title(title, fontsize=10)
        top = max((v for v in panel if v is not None), default=1) or 1
        ax.set_xlim(0, top * 1.22)
        for yy, value in zip(y, panel):
            text = "failed" if value is None else pattern.format(value)
            ax.text((value or 0) + top * 0.01, yy, text, va="center", fontsize=8,
                    color="#b00020" if value is None else "black")
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(labels, fontsize=8)
    s, m = report["settings"], report["machine"]
    fig.suptitle(
        f"Gatehouse vs FastMCP {report['versions']['fastmcp']} vs Python SDK {report['versions']['mcp']}: "
        f"tools/call add with RS256 JWT auth — wrk {s['duration_s']} s, {s['connections']} connections, "
        f"server on 1 core — {report['date'][:10]}, {m['nproc']}× {m['cpu_model']}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gatehouse-bin", type=Path, default=REPO_ROOT / ".build" / "release" / "gatehouse")
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per server (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per server (default 3; 0 skips)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--request-timeout", type=int, default=5, help="wrk per-request timeout, s (default 5)")
    parser.add_argument("--startup-timeout", type=float, default=60.0, help="seconds a server may take to start")
    parser.add_argument("--server-cpu", default="0", help="CPU list for the server (taskset -c; default 0)")
    parser.add_argument("--wrk-cpu", default="1", help="CPU list for wrk (taskset -c; default 1)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin with taskset")
    parser.add_argument("--servers", default="gatehouse,fastmcp,sdk", help="comma-separated subset to run")
    parser.add_argument("--noauth-peers", action="store_true", help="also run FastMCP and the SDK with auth off")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "http-latest", help="results path without suffix")
    args = parser.parse_args()
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(args.servers) - {"gatehouse", "fastmcp", "sdk"}
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    if args.duration < 1 or args.connections < 1 or args.threads < 1 or args.warmup < 0:
        parser.error("duration, connections and threads must be at least 1, warmup at least 0")
    if args.connections < args.threads:
        parser.error("wrk needs at least as many connections as threads")
    args.gatehouse_bin = args.gatehouse_bin.resolve()
    if "gatehouse" in args.servers and not args.gatehouse_bin.is_file():
        parser.error(f"no gatehouse binary at {args.gatehouse_bin} (swift build -c release --product gatehouse)")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install -y wrk)")

    bench = Bench(args)

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    try:
        report = bench.execute()
    except KeyboardInterrupt:
        log("interrupted; stopping")
        if bench.current is not None:
            bench.current.stop()
        bench.issuer.stop()
        return 130

    args.output.parent.mkdir(parents=True, exist_ok=True)
    json_path = args.output.with_suffix(".json")
    md_path = args.output.with_suffix(".md")
    png_path = args.output.with_suffix(".png")
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    md_path.write_text(markdown(report))
    try:
        chart(report, png_path)
    except Exception as error:  # the numbers are written already; a chart failure must not lose them
        log(f"chart failed: {type(error).__name__}: {error}")
    print()
    print(md_path.read_text())
    log(f"wrote {json_path}, {md_path.name}, {png_path.name}")
    bad = [r for r in report["runs"] if r["status"] != "ok" or not r.get("clean", False)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
