"""The hub on each store, and the throwaway PostgreSQL cluster (scripts/postgres.sh) the PostgreSQL hub uses.

Both hubs are the same binary with the same flags and environment but the store: `gatehouse hub --dev-auto-approve`
on 127.0.0.1 (the embedded authorization server, every authorization approved as dev@localhost), GATEHOUSE_SECRET_KEY
set (32 random bytes, base64, the same for both), and `--database-path FILE` or `--database-url URL`.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..console import log
from ..paths import REPO_ROOT, TMP_DIR
from ..runs import Run, RunFailed
from ..servers import ServerProcess, clean_environment, free_port

FILES_DIR = "store"
"""The subdirectory of bench/results/tmp/ for this benchmark's logs, wrk output and psql samples."""

POSTGRES_SCRIPT = REPO_ROOT / "scripts" / "postgres.sh"
SCRIPT_TIMEOUT_S = 180
"""How long scripts/postgres.sh may take (start includes initdb, and apt-get on a machine without PostgreSQL)."""

PSQL_TIMEOUT_S = 30

DURABLE_SETTINGS = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
"""What --postgres-durability durable sets (ALTER SYSTEM, then a reload): every commit waits for its WAL flush, as
the SQLite store's commits do (WAL journal, synchronous=FULL, SQLite's default, which the store keeps)."""

DIAGNOSTIC_SETTINGS = {"log_lock_waits": "on"}
"""Logging only: a lock wait longer than deadlock_timeout (1 s) is written to postgres.log, which the report scans."""

HUB_LOG_PROBLEM = re.compile(r"^\S+ (warning|error|critical) ")
"""A line of the hub's log at warning or above (StandardErrorLogHandler: `<time> <level> <label>: ...`)."""


def new_secret_key() -> str:
    """A GATEHOUSE_SECRET_KEY: 32 random bytes, standard base64."""
    return base64.b64encode(os.urandom(32)).decode()


def scratch_directory() -> Path:
    """A new directory under /tmp for the stores (the SQLite file and the PostgreSQL cluster, on the same file
    system), mode 0711 so the postgres OS user can reach the cluster's directory inside it."""
    path = Path(tempfile.mkdtemp(prefix="gatehouse-store-bench.", dir="/tmp"))
    path.chmod(0o711)
    return path


@dataclass
class PostgresCluster:
    """A throwaway cluster in `directory` on 127.0.0.1:`port`, started with scripts/postgres.sh on `cpu_prefix`'s
    CPUs; `url` is set once it runs."""

    directory: Path
    port: int
    cpu_prefix: list[str]
    client_prefix: list[str]
    url: str = ""
    settings: dict[str, str] = field(default_factory=dict)
    version: str = ""

    @property
    def log_path(self) -> Path:
        return self.directory / "postgres.log"

    def start(self, durability: str) -> None:
        """initdb and start (scripts/postgres.sh start), then make it durable if asked and record the settings that
        decide how a commit costs."""
        log(f"postgres: starting a throwaway cluster in {self.directory} on port {self.port}")
        done = subprocess.run(self.cpu_prefix + [str(POSTGRES_SCRIPT), "start", str(self.directory), str(self.port)],
                              capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S, cwd=REPO_ROOT)
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines or not lines[-1].startswith("postgres://"):
            raise RunFailed(f"scripts/postgres.sh start failed ({done.returncode}): {done.stderr.strip()[-600:]}")
        self.url = lines[-1]
        wanted = dict(DIAGNOSTIC_SETTINGS)
        if durability == "durable":
            wanted.update(DURABLE_SETTINGS)
        for name, value in wanted.items():
            self.superuser_sql(f"ALTER SYSTEM SET {name} = '{value}'")
        self.superuser_sql("SELECT pg_reload_conf()")
        shown = self.sql("SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', "
                         "'full_page_writes', 'wal_sync_method', 'shared_buffers', 'max_connections', "
                         "'deadlock_timeout', 'log_lock_waits') ORDER BY name")
        self.settings = dict(line.split("|", 1) for line in shown.splitlines() if "|" in line)
        if durability == "durable" and any(self.settings.get(k) != "on" for k in DURABLE_SETTINGS):
            raise RunFailed(f"PostgreSQL did not take the durable settings: {self.settings}")
        self.version = self.sql("SHOW server_version").strip()

    def postmaster_pid(self) -> int:
        """The postmaster's PID (the first line of postmaster.pid): its process tree is every backend."""
        return int((self.directory / "data" / "postmaster.pid").read_text().splitlines()[0])

    def sql(self, query: str) -> str:
        """`query`'s rows (unaligned, `|`-separated) as the hub's role over TCP, psql on the client's CPU."""
        done = subprocess.run(self.client_prefix + ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", self.url,
                                                    "-c", query],
                              capture_output=True, text=True, timeout=PSQL_TIMEOUT_S)
        if done.returncode != 0:
            raise RunFailed(f"psql failed: {done.stderr.strip()[:300]}")
        return done.stdout

    def superuser_sql(self, query: str) -> None:
        """`query` as the cluster's superuser over its Unix socket (ALTER SYSTEM needs it), run as the OS user that
        owns the cluster, as scripts/postgres.sh does."""
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"), key=lambda p: _version_key(p.parent.parent.name))
        if not bins:
            raise RunFailed("no /usr/lib/postgresql/*/bin/psql")
        as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run(as_owner + [str(bins[-1]), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h",
                                          str(self.directory), "-p", str(self.port), "-U", "postgres", "-d", "postgres",
                                          "-c", query],
                              capture_output=True, text=True, timeout=PSQL_TIMEOUT_S, cwd="/")
        if done.returncode != 0:
            raise RunFailed(f"psql (superuser) failed on {query!r}: {done.stderr.strip()[:300]}")

    def log_problems(self) -> dict[str, object]:
        """What postgres.log says at warning and above (it logs nothing below): lock waits over deadlock_timeout,
        deadlocks, errors; counts and the first lines."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return {"unreadable": True}
        waits = [line for line in lines if "still waiting for" in line]
        deadlocks = [line for line in lines if "deadlock detected" in line]
        errors = [line for line in lines if re.search(r"\b(ERROR|FATAL|PANIC):", line)]
        return {"lock_waits_over_deadlock_timeout": len(waits), "deadlocks": len(deadlocks), "errors": len(errors),
                "first": (waits + deadlocks + errors)[:5]}

    def stop(self) -> None:
        """Stop the cluster and remove its directory (scripts/postgres.sh stop); a copy of its log is kept."""
        if self.log_path.exists():
            try:
                shutil.copyfile(self.log_path, TMP_DIR / FILES_DIR / "postgres.log")
            except OSError:
                pass
        done = subprocess.run([str(POSTGRES_SCRIPT), "stop", str(self.directory)], capture_output=True, text=True,
                              timeout=SCRIPT_TIMEOUT_S, cwd=REPO_ROOT)
        if done.returncode != 0:
            log(f"postgres: stop failed: {done.stderr.strip()[-300:]}")


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name)) or (0,)


def prepare_hub(backend: str, binary: Path, scratch: Path, secret_key: str, cluster: PostgresCluster | None,
                cpu_prefix: list[str], pool_size: int | None) -> ServerProcess:
    """The hub on `backend`'s store, not started: the SQLite file in `scratch`, or `cluster`'s database."""
    port = free_port()
    workdir = TMP_DIR / FILES_DIR / backend
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [*cpu_prefix, str(binary), "hub", "--host", "127.0.0.1", "--port", str(port), "--log-level",
            "warning", "--dev-auto-approve"]
    env = clean_environment()
    env["GATEHOUSE_SECRET_KEY"] = secret_key
    if backend == "sqlite":
        database = scratch / "sqlite" / "hub.db"
        database.parent.mkdir(mode=0o700, exist_ok=True)
        argv += ["--database-path", str(database)]
    else:
        assert cluster is not None
        argv += ["--database-url", cluster.url]
        if pool_size is not None:
            env["GATEHOUSE_DATABASE_POOL_SIZE"] = str(pool_size)
    name = f"{FILES_DIR}/{backend}-hub"
    return ServerProcess(Run("gatehouse", "stateless", True), argv, env, workdir, TMP_DIR / f"{name}.log", port, name)


def sqlite_library(binary: Path) -> str:
    """The SQLite library the hub links (ldd) and its version (sqlite3_libversion, loaded with ctypes), or what is
    known of it."""
    try:
        done = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    match = re.search(r"libsqlite3\S*\s*=>\s*(\S+)", done.stdout)
    if not match:
        return "statically linked or not found by ldd"
    try:
        import ctypes
        library = ctypes.CDLL(match.group(1))
        library.sqlite3_libversion.restype = ctypes.c_char_p
        return f"{library.sqlite3_libversion().decode()} ({match.group(1)})"
    except (OSError, AttributeError):
        return match.group(1)


def hub_log_problems(server: ServerProcess) -> dict[str, object]:
    """The hub's log lines at warning and above: their count and the first few."""
    try:
        lines = server.log_path.read_text(errors="replace").splitlines()
    except OSError:
        return {"unreadable": True}
    problems = [line for line in lines if HUB_LOG_PROBLEM.match(line)]
    return {"count": len(problems), "first": problems[:5]}
