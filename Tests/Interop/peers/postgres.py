"""A throwaway PostgreSQL server for the interop suite: Debian's PostgreSQL run by scripts/postgres.sh
(a cluster of its own in a temp dir, on a free 127.0.0.1 port), for the PostgreSQL store and several
Gatehouse instances sharing it.

    with postgres_server() as postgres:
        postgres.url                          # postgres://gatehouse:gatehouse@127.0.0.1:PORT/gatehouse
        other = postgres.create_database("hub_b")   # ...:PORT/hub_b, empty, owned by gatehouse
        postgres.psql("select count(*) from users")             # "3" (psql -At: unaligned, tuples only)
        postgres.psql("select 1; select 2", database="hub_b")   # "1\\n2"

or, in a test module, the fixtures (import them into the module so pytest sees them):

    from peers.postgres import postgres, postgres_database
    def test_x(postgres_database: str) -> None: ...   # a fresh empty database per test, its URL
    def test_y(postgres: PostgresServer) -> None: ...  # the session's server

The server: role `gatehouse` (password `gatehouse`, not a superuser) owns the databases; TCP on
127.0.0.1 only, `trust` authentication (auth="scram-sha-256" makes it check the password);
durability off (fsync, synchronous_commit), max_connections 200. As root the cluster runs as the
`postgres` OS user, so the temp dir made here is searchable by others (0711; its content is not).
Start takes about 1 s (initdb included), stop well under 1 s; both are bounded (STARTUP_TIMEOUT_S,
STOP_TIMEOUT_S). The server's log is attached to failing tests' reports, like the hubs' output.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from conftest import _RUNNING, REPO_ROOT, free_port

SCRIPT = REPO_ROOT / "scripts" / "postgres.sh"
# initdb (~1 s) and pg_ctl start (which itself gives up after 30 s), or apt-get install on first use.
STARTUP_TIMEOUT_S = 60.0
STARTUP_TIMEOUT_INSTALL_S = 600.0
STOP_TIMEOUT_S = 45.0
PSQL_TIMEOUT_S = 30.0
# Times the start is tried again on another port when the one picked was taken meanwhile.
PORT_ATTEMPTS = 3

DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PsqlError(RuntimeError):
    """psql exited non-zero (the SQL failed, ON_ERROR_STOP); the message has its stderr."""


def _clean_env() -> dict[str, str]:
    """The caller's environment without PG* settings (PGHOST, PGPASSWORD, ...) that would redirect psql."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["PGCONNECT_TIMEOUT"] = "5"
    return env


def _psql_binary() -> str:
    """psql of the newest server installed (the one scripts/postgres.sh runs), else the one on PATH."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if candidates:
        return str(candidates[-1])
    found = shutil.which("psql")
    if found is None:
        raise RuntimeError("psql is missing: scripts/postgres.sh installs Debian's postgresql package")
    return found


def _run_script(args: list[str], timeout_s: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env if env is not None else _clean_env(),
    )


@dataclass
class PostgresServer:
    """A running throwaway cluster (see the module docstring)."""

    directory: Path
    port: int
    url: str
    name: str = "postgres"

    def url_for(self, database: str) -> str:
        """The URL of `database` on this server (whether it exists or not)."""
        return self.url.rsplit("/", 1)[0] + "/" + database

    def create_database(self, name: str) -> str:
        """Creates the empty database `name` (lower-case letters, digits, _) owned by gatehouse, or
        keeps it when it exists; returns its URL."""
        if not DATABASE_NAME.match(name):
            raise ValueError(f"database names are lower-case letters, digits and _ (at most 63): {name!r}")
        done = _run_script(["createdb", str(self.directory), str(self.port), name], PSQL_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"scripts/postgres.sh createdb {name} exited {done.returncode}\n{done.stderr}")
        return done.stdout.strip().splitlines()[-1]

    def psql(self, sql: str, database: str | None = None) -> str:
        """Runs `sql` (one or more statements) as gatehouse in `database` (default: gatehouse) with
        `psql -X -q -At -v ON_ERROR_STOP=1`: every row of every query, columns separated by |, no
        headers, no command tags. Returns the output without its final newline; raises PsqlError
        when a statement fails."""
        url = self.url if database is None else self.url_for(database)
        argv = [_psql_binary(), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url]
        done = subprocess.run(argv, input=sql, capture_output=True, text=True, timeout=PSQL_TIMEOUT_S, env=_clean_env())
        if done.returncode != 0:
            raise PsqlError(f"psql ({database or 'gatehouse'}) exited {done.returncode}: {done.stderr.strip()}\n--- SQL ---\n{sql}")
        return done.stdout.rstrip("\n")

    def log_text(self) -> str:
        """The server's log (DIR/postgres.log): warnings and errors, with time, pid, user@database."""
        path = self.directory / "postgres.log"
        try:
            return path.read_text(errors="replace")
        except OSError as error:
            return f"<could not read {path}: {error}>"


def _stop(cluster_dir: Path) -> str:
    """scripts/postgres.sh stop; returns "" or what went wrong (never raises)."""
    try:
        done = _run_script(["stop", str(cluster_dir)], STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"scripts/postgres.sh stop {cluster_dir} took over {STOP_TIMEOUT_S:.0f} s"
    if done.returncode != 0:
        return f"scripts/postgres.sh stop exited {done.returncode}: {done.stderr.strip()}"
    return ""


@contextmanager
def postgres_server(*, auth: str = "trust", startup_timeout_s: float | None = None) -> Iterator[PostgresServer]:
    """Starts a throwaway cluster on a free 127.0.0.1 port (scripts/postgres.sh start), yields it and
    stops it at exit, also when the body raised (pg_ctl stop -m fast, then the temp dir is removed).
    Raises RuntimeError, with the server's log, when it does not come up.

    auth               "trust" (any password) or "scram-sha-256" / "md5" (the password is checked)
    startup_timeout_s  bound on the whole start (default 60 s; 600 s when PostgreSQL still has to be
                       installed from apt)
    """
    if startup_timeout_s is None:
        installed = any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        startup_timeout_s = STARTUP_TIMEOUT_S if installed else STARTUP_TIMEOUT_INSTALL_S
    workdir = Path(tempfile.mkdtemp(prefix="gatehouse-pg-"))
    # As root the cluster belongs to the `postgres` OS user, which must be able to reach it.
    workdir.chmod(0o711)
    cluster_dir = workdir / "cluster"
    env = {**_clean_env(), "GATEHOUSE_PG_AUTH": auth}
    server: PostgresServer | None = None
    try:
        errors: list[str] = []
        for _ in range(PORT_ATTEMPTS):
            port = free_port()
            try:
                done = _run_script(["start", str(cluster_dir), str(port)], startup_timeout_s, env)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"scripts/postgres.sh start did not finish within {startup_timeout_s:.0f} s") from None
            if done.returncode == 0:
                url = done.stdout.strip().splitlines()[-1]
                server = PostgresServer(directory=cluster_dir, port=port, url=url)
                break
            errors.append(done.stderr)
            if "Address already in use" not in done.stderr:
                break
            # The cluster stays initialised; the next attempt only starts it on another port.
        if server is None:
            raise RuntimeError("scripts/postgres.sh start failed:\n" + "\n".join(errors))
        _RUNNING.append(server)  # type: ignore[arg-type]  # duck-typed: name and log_text()
        yield server
    finally:
        if server is not None and server in _RUNNING:
            _RUNNING.remove(server)  # type: ignore[arg-type]
        problem = _stop(cluster_dir) if cluster_dir.exists() else ""
        shutil.rmtree(workdir, ignore_errors=True)
        if problem:
            # Not raised over an exception of the body; the directory is gone either way.
            warnings.warn(problem, RuntimeWarning, stacklevel=2)


# --------------------------------------------------------------------------------------
# Fixtures (import them into a test module: `from peers.postgres import postgres, postgres_database`)
# --------------------------------------------------------------------------------------

_DATABASE_NUMBERS = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole session."""
    context = postgres_server()
    try:
        server = context.__enter__()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield server
    finally:
        context.__exit__(None, None, None)


@pytest.fixture
def postgres_database(postgres: PostgresServer, request: pytest.FixtureRequest) -> str:
    """The URL of a fresh, empty database (owned by gatehouse) on the session's server, one per test,
    named after it (t<N>_<test name>, cut to 63 characters)."""
    stem = re.sub(r"[^a-z0-9_]+", "_", request.node.name.lower()).strip("_")
    return postgres.create_database(f"t{next(_DATABASE_NUMBERS)}_{stem}"[:63])
