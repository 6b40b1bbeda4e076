"""Processes the soak and the faults start: `gatehouse` servers (hub, gateway), Python peers
(upstream MCP servers, oidc-provider-mock) and throwaway PostgreSQL clusters.

Everything started here is registered, and stop_everything() (run at exit, on SIGINT/SIGTERM
and by the scripts' finally blocks) stops it: SIGTERM to the process group we created, SIGKILL
after a grace period, PostgreSQL clusters through scripts/postgres.sh. Every wait is bounded.
Servers run on 127.0.0.1 only, each in a working directory of its own, with a clean environment
(no GATEHOUSE_*, HUB_*, MCP_*, WORKOS_* or LOG_LEVEL from the caller), like bench/hostile/hub.py.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "bench" / "hostile"))

import httpio  # noqa: E402  (bench/hostile)

PEERS = REPO / "Tests" / "Interop" / "peers"
POSTGRES_SCRIPT = REPO / "scripts" / "postgres.sh"
PYTHON = sys.executable

STARTUP_TIMEOUT_S = 30.0
STOP_GRACE_S = 15.0

_LIVE: list["Proc"] = []
_CLEANUPS: list = []
_LOCK = threading.Lock()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GATEHOUSE_", "HUB_", "MCP_", "WORKOS_", "PG")) and key != "LOG_LEVEL"
    }
    env.update(extra)
    return env


def rss_kib(pid: int) -> int | None:
    """VmRSS of the process in KiB (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def fd_count(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def thread_count(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def children_of(pid: int) -> list[int]:
    """Direct children of `pid` (from /proc/PID/task/*/children)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    found += [int(p) for p in children.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return found


class Proc:
    """One process we started, in its own session (so its children, e.g. a gateway's stdio
    upstreams, can be stopped with it), output to <workdir>/<name>.log."""

    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict[str, str] | None = None,
                 health_url: str | None = None, healthy=None) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env = env if env is not None else clean_env()
        self.health_url = health_url
        self.healthy = healthy  # callable(response) -> bool, default: status 200
        self.log_path = self.workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    # ---------------------------------------------------------------- life cycle
    def start(self, timeout: float = STARTUP_TIMEOUT_S) -> "Proc":
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write((f"\n=== start {self.starts} at {time.strftime('%H:%M:%S')}: $ " + " ".join(self.argv) + "\n").encode())
        log.flush()
        self.process = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
            env=self.env, start_new_session=True, umask=0o022,
        )
        log.close()
        with _LOCK:
            if self not in _LIVE:
                _LIVE.append(self)
        if self.health_url:
            self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.process.returncode} at start:\n{self.log_tail()}")
            try:
                base, _, path = self.health_url.partition("://")[2].partition("/")
                response = httpio.get("http://" + base, "/" + path, timeout=1.0)
                if (self.healthy or (lambda r: r.status == 200))(response):
                    return
                last = f"HTTP {response.status}"
            except Exception as error:  # noqa: BLE001 - retried until the deadline
                last = repr(error)
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"{self.name} not healthy within {timeout:g} s ({last}):\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_kib(self) -> int | None:
        return rss_kib(self.pid) if self.alive() else None

    def fds(self) -> int | None:
        return fd_count(self.pid) if self.alive() else None

    def threads(self) -> int | None:
        return thread_count(self.pid) if self.alive() else None

    def terminate(self, cap: float = STOP_GRACE_S) -> tuple[float | None, int | None]:
        """SIGTERM the process; returns (seconds until it exited or None when it had to be
        killed after `cap`, exit code)."""
        if not self.alive():
            return 0.0, (self.process.returncode if self.process else None)
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=cap)
            seconds = round(time.monotonic() - started, 3)
        except subprocess.TimeoutExpired:
            seconds = None
        code = self.process.poll()
        self._reap_group()
        return seconds, code

    def kill(self) -> None:
        """SIGKILL (this process only; its group is reaped too)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._reap_group()

    def _reap_group(self) -> None:
        """What is left of the process group we created for it (stdio upstreams of a gateway
        that died): SIGKILL, by the group id of our own child."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        with _LOCK:
            if self in _LIVE:
                _LIVE.remove(self)

    def stop(self, cap: float = STOP_GRACE_S) -> tuple[float | None, int | None]:
        return self.terminate(cap)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def gatehouse(binary: str, command: str, name: str, workdir: Path, port: int, args: list[str],
              env: dict[str, str] | None = None, log_level: str = "info") -> Proc:
    """`gatehouse COMMAND --host 127.0.0.1 --port PORT --log-level L ARGS` (not started)."""
    argv = [binary, command, "--host", "127.0.0.1", "--port", str(port), "--log-level", log_level, *args]
    return Proc(name, argv, workdir, env=clean_env(**(env or {})), health_url=f"http://127.0.0.1:{port}/healthz")


def peer(script: str | Path, name: str, workdir: Path, port: int, args: list[str] | None = None) -> Proc:
    """A peer server script (Tests/Interop/peers/ or bench/soak/peers/) with --port PORT."""
    path = Path(script)
    if not path.is_absolute():
        path = PEERS / path
    return Proc(name, [PYTHON, str(path), "--port", str(port), *(args or [])], workdir,
                env=clean_env(PYTHONDONTWRITEBYTECODE="1"), health_url=f"http://127.0.0.1:{port}/healthz")


def cli(binary: str, *argv: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None,
        timeout: float = 120.0) -> subprocess.CompletedProcess:
    done = subprocess.run([binary, *argv], input=stdin, capture_output=True, text=True, cwd=cwd,
                          env=clean_env(**(env or {})), timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"gatehouse {' '.join(argv[:3])} exited {done.returncode}: {done.stdout}{done.stderr}")
    return done


# --------------------------------------------------------------------------------------
# PostgreSQL (scripts/postgres.sh; pg_ctl for a stop and start that keep the data)
# --------------------------------------------------------------------------------------


def _pg_bin() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if not candidates:
        raise RuntimeError("PostgreSQL is not installed (scripts/postgres.sh start installs it)")
    return candidates[-1].parent


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class Postgres:
    """A throwaway cluster in DIR on a free port: start(), pause() (pg_ctl stop -m fast, data
    kept), resume() (same port), destroy() (scripts/postgres.sh stop, which removes DIR)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        # As root the cluster runs as `postgres`, which must reach DIR.
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        # (the run's own temp folders only: the harness makes them searchable, 0711)
        for parent in [self.directory.parent, *self.directory.parent.parents]:
            if str(parent).startswith(tempfile.gettempdir() + "/gatehouse-soak-"):
                try:
                    parent.chmod(parent.stat().st_mode | 0o011)
                except OSError:
                    pass
        self.port = 0
        self.url = ""
        self.started = False

    def start(self) -> "Postgres":
        for _ in range(3):
            self.port = free_port()
            done = subprocess.run(["bash", str(POSTGRES_SCRIPT), "start", str(self.directory), str(self.port)],
                                  capture_output=True, text=True, timeout=600, env=clean_env(), stdin=subprocess.DEVNULL)
            if done.returncode == 0:
                self.url = done.stdout.strip().splitlines()[-1]
                self.started = True
                with _LOCK:
                    _CLEANUPS.append(self.destroy)
                return self
            if "Address already in use" not in done.stderr:
                raise RuntimeError(f"scripts/postgres.sh start failed:\n{done.stderr}")
        raise RuntimeError("scripts/postgres.sh start: port taken three times")

    def pg_ctl(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        return subprocess.run(_as_owner([str(_pg_bin() / "pg_ctl"), *args]), capture_output=True, text=True,
                              timeout=timeout, env=clean_env(), cwd="/", stdin=subprocess.DEVNULL)

    def pause(self, mode: str = "fast") -> float:
        """Stops the server (data kept); returns the seconds it took."""
        started = time.monotonic()
        done = self.pg_ctl("stop", "-D", str(self.directory / "data"), "-m", mode, "-w", "-t", "30")
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl stop: {done.stdout}{done.stderr}")
        return time.monotonic() - started

    def resume(self) -> float:
        started = time.monotonic()
        done = self.pg_ctl("start", "-D", str(self.directory / "data"), "-l", str(self.directory / "postgres.log"),
                           "-w", "-t", "30", "-o", f"-p {self.port}")
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start: {done.stdout}{done.stderr}")
        return time.monotonic() - started

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.directory / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def log_text(self) -> str:
        try:
            return (self.directory / "postgres.log").read_text(errors="replace")
        except OSError:
            return ""

    def destroy(self) -> None:
        if not self.started:
            return
        self.started = False
        subprocess.run(["bash", str(POSTGRES_SCRIPT), "stop", str(self.directory)], capture_output=True, text=True,
                       timeout=90, env=clean_env(), stdin=subprocess.DEVNULL)


# --------------------------------------------------------------------------------------
# Stopping everything
# --------------------------------------------------------------------------------------


def stop_everything(grace: float = 5.0) -> None:
    """SIGTERM every live process we started (SIGKILL after `grace`), then the clusters."""
    with _LOCK:
        live = list(_LIVE)
        cleanups = list(_CLEANUPS)
        _CLEANUPS.clear()
    for proc in live:
        try:
            proc.terminate(grace)
        except Exception:  # noqa: BLE001 - best effort, then kill
            proc.kill()
    for cleanup in cleanups:
        try:
            cleanup()
        except Exception as error:  # noqa: BLE001
            print(f"cleanup failed: {error}", file=sys.stderr)


def install_signal_handlers() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread, so the scripts' finally
    blocks stop everything; atexit does it again for anything left."""

    def interrupted(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    atexit.register(stop_everything)
