"""Starting and stopping one `gatehouse hub` process for a probe.

Every hub runs in its own temp working directory (the hub keeps hub_data/hub.db relative to its
cwd), on a free 127.0.0.1 port, with a clean environment (no GATEHOUSE_*/HUB_*/MCP_*/WORKOS_*
settings leak in) and its output in <workdir>/hub.log. Nothing here ever waits without a bound:
start-up is capped, stop() sends SIGTERM and kill -9s after the grace period.

All live hubs are tracked in LIVE so run.py can kill a probe's hubs when the probe overruns its
budget, and at exit.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpio

STARTUP_TIMEOUT_S = 30.0
LIVE: list["Hub"] = []
_LIVE_LOCK = threading.Lock()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GATEHOUSE_", "HUB_", "MCP_", "WORKOS_")) and key != "LOG_LEVEL"
    }


# Deterministic file modes: the usual default umask for the hub and its commands, whatever the
# harness itself runs with.
CHILD_UMASK = 0o022


class Hub:
    def __init__(
        self,
        binary: str,
        root: str,
        name: str,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        database_path: str | None = None,
        process_env: dict[str, str] | None = None,
    ) -> None:
        """`env` is passed as `--env KEY=VALUE` (a binary that does not know a key refuses to
        start); `process_env` goes into the process environment, where unknown names are
        ignored, for settings an older binary lacks."""
        self.binary = str(Path(binary).resolve())
        self.name = name
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))
        self.database_path = database_path or str(self.workdir / "hub_data" / "hub.db")
        self.env = env or {}
        self.process_env = process_env or {}
        self.args = args or []
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.mcp_url = self.base + "/mcp"
        self.log_path = self.workdir / "hub.log"
        self.process: subprocess.Popen | None = None

    # ------------------------------------------------------------------ commands
    def cli(self, *argv: str, stdin: str | None = None, timeout: float = 60.0) -> subprocess.CompletedProcess:
        """Runs `gatehouse ARGV...` in the hub's working directory (bounded)."""
        return subprocess.run(
            [self.binary, *argv],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=self.workdir,
            env=clean_env(),
            timeout=timeout,
            umask=CHILD_UMASK,
        )

    def add_user(self, email: str, password: str) -> None:
        done = self.cli("idp", "add-user", email, "--password-stdin", "--database-path", self.database_path,
                        stdin=password + "\n")
        if done.returncode != 0:
            raise RuntimeError(f"idp add-user exited {done.returncode}: {done.stdout}{done.stderr}")

    # ------------------------------------------------------------------ life cycle
    def start(self) -> "Hub":
        argv = [self.binary, "hub", "--port", str(self.port), "--database-path", self.database_path, *self.args]
        for key, value in self.env.items():
            argv += ["--env", f"{key}={value}"]
        log = open(self.log_path, "wb")
        log.write(("$ " + " ".join(argv) + "\n").encode())
        log.flush()
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
            env={**clean_env(), **self.process_env}, umask=CHILD_UMASK,
        )
        log.close()
        with _LIVE_LOCK:
            LIVE.append(self)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hub {self.name} exited {self.process.returncode} at start:\n{self.log_tail()}")
            if httpio.healthz_seconds(self.base, timeout=1.0) is not None:
                return self
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"hub {self.name} did not answer /healthz within {STARTUP_TIMEOUT_S} s:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def fd_count(self) -> int | None:
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:
            return None

    def sigterm_exit_seconds(self, cap: float) -> float | None:
        """SIGTERM, then seconds until the process exited, or None when it was still running
        after `cap` seconds (it is then killed with SIGKILL)."""
        if not self.alive():
            return 0.0
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=cap)
            return round(time.monotonic() - started, 3)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        with _LIVE_LOCK:
            if self in LIVE:
                LIVE.remove(self)

    def stop(self, grace: float = 10.0) -> float | None:
        """Graceful stop with a deadline, kill -9 after it. Returns the exit seconds or None."""
        seconds = self.sigterm_exit_seconds(grace) if self.alive() else 0.0
        self.kill()
        return seconds

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def kill_all(hubs: list[Hub] | None = None) -> None:
    with _LIVE_LOCK:
        targets = list(LIVE if hubs is None else hubs)
    for hub in targets:
        hub.kill()


atexit.register(kill_all)
