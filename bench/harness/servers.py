"""The servers under test: each one's command line and environment, starting, readiness, and stopping."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .http_client import http_request
from .issuer import LocalIssuer
from .paths import PEERS_DIR, TMP_DIR
from .pinning import Pinning
from .runs import CEILING, Run, RunFailed

STOP_GRACE_S = 5.0
"""How long a server may take to exit after SIGTERM, and after SIGKILL."""

LEAKY_PREFIXES = ("GATEHOUSE_", "HUB_", "MCP_", "WORKOS_", "FASTMCP_")
"""Environment variables with these prefixes (and LOG_LEVEL) are not passed on to the servers."""

PEER_SCRIPTS = {"fastmcp": "fastmcp_server.py", "sdk": "sdk_server.py"}


@dataclass
class ServerProcess:
    """One server's command line, environment, port and log file, and its process once started; `name` is the
    stem of its log and wrk files (the run's name, with "-r2" and so on for a round of a repeated run)."""

    run: Run
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    port: int
    name: str
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        """The MCP endpoint, which is also the audience of the server's tokens."""
        return self.base_url + "/mcp"

    def start(self) -> None:
        """Start the server in a session of its own, its output (after the command line) to its log file."""
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
        """The last lines of the server's log, for failure messages."""
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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environment() -> dict[str, str]:
    """This process's environment without auth or Gatehouse settings, so none leak into a server."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(LEAKY_PREFIXES) and key != "LOG_LEVEL"
    }


def prepare_server(run: Run, issuer: LocalIssuer | None, gatehouse_bin: Path, ceiling_bin: Path,
                   pinning: Pinning, round_number: int | None = None, stem: str | None = None) -> ServerProcess:
    """The server for `run` (in round `round_number` of a repeated run, if given) on a free port, trusting
    `issuer` if auth is on (only then is it needed); not started yet. `stem` names its working directory and log
    under TMP_DIR (default: the run's name; it may hold a subdirectory); the rounds of a run share the directory."""
    if run.auth and issuer is None:
        raise ValueError("a server with auth needs the issuer")
    port = free_port()
    stem = stem or run.name
    workdir = TMP_DIR / stem
    workdir.mkdir(parents=True, exist_ok=True)
    name = stem + (f"-r{round_number}" if round_number is not None else "")
    log_path = TMP_DIR / f"{name}.log"
    audience = f"http://127.0.0.1:{port}/mcp"
    env = clean_environment()
    if run.server == "gatehouse":
        argv = [str(gatehouse_bin), "hub", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        if run.auth:
            argv += ["--env", f"MCP_JWT_ISSUER={issuer.issuer}"]
        else:
            argv += ["--provider", "none"]  # without this the hub would run its embedded authorization server
    elif run.server == CEILING:
        argv = [str(ceiling_bin), "--port", str(port)]  # binds 127.0.0.1; no auth, nothing else to set
    else:
        argv = [sys.executable, str(PEERS_DIR / PEER_SCRIPTS[run.server]), "--port", str(port)]
        if run.auth:
            argv += ["--issuer", issuer.issuer, "--jwks-uri", issuer.jwks_uri, "--audience", audience]
        else:
            argv += ["--no-auth"]
        if run.mode == "stateless":
            argv += ["--stateless"]
        env["FASTMCP_CHECK_FOR_UPDATES"] = "off"
        env["FASTMCP_LOG_LEVEL"] = "WARNING"
        env["PYTHONUNBUFFERED"] = "1"
    return ServerProcess(run, pinning.server_prefix() + argv, env, workdir, log_path, port, name)


def wait_ready(server: ServerProcess, timeout_s: float) -> float:
    """Wait until the server answers HTTP at all; returns the seconds it took."""
    started = time.monotonic()
    deadline = started + timeout_s
    last = "no attempt"
    path = "/healthz" if server.run.server in ("gatehouse", CEILING) else "/mcp"
    while time.monotonic() < deadline:
        assert server.process is not None
        code = server.process.poll()
        if code is not None:
            raise RunFailed(f"exited with code {code} during start-up: {server.log_tail()}")
        try:
            answer = http_request(
                "GET", server.base_url + path, headers={"Accept": "application/json, text/event-stream"}
            )
            if answer.status < 500:
                return time.monotonic() - started
            last = f"HTTP {answer.status}"
        except (OSError, urllib.error.URLError) as error:
            last = repr(error)
        time.sleep(0.1)
    raise RunFailed(f"no HTTP answer within {timeout_s:.0f} s (last: {last}): {server.log_tail()}")
