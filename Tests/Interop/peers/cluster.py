"""Several `gatehouse hub` instances on one PostgreSQL database behind nginx round robin: the
deployment docs/scaling.md describes, built for tests (test_scaling.py, and every hub fixture of
conftest.py when GATEHOUSE_INTEROP_DEPLOYMENT=cluster).

    with postgres_server() as postgres, balanced_hubs(postgres, "mydb", ["a", "b", "c"]) as cluster:
        cluster.base_url, cluster.mcp_url       # nginx's: what clients (and the instances' --base-url) use
        cluster.add_user(email, name, password)  # `gatehouse idp add-user --database-url`, the key in the env
        cluster.query("SELECT email FROM users WHERE id = ?", (1,))   # rows as tuples (psycopg)
        cluster.served(cluster.mark())          # which instance answered each request since the mark

A Cluster is made of:

  PostgreSQL  a database of a throwaway server (peers/postgres.py), new for each cluster unless the
              caller names one (the instances then share what an earlier cluster left there)
  instances   `gatehouse hub` processes (conftest.GatehouseServer), each given the caller's
              arguments plus `--database-url` and `--base-url` (nginx's URL, unless the caller gave
              one), and GATEHOUSE_SECRET_KEY in the environment, the same for all (the caller's,
              when its arguments or environment carry one; else a new random key)
  nginx       round robin over the instances, no stickiness (peers/round_robin.py)

It duck-types what the interop suites use of a single GatehouseServer: name, binary, base_url,
mcp_url, port (nginx's), extra_args (the caller's), workdir (a temp dir for CLI commands' cwd),
query(sql, parameters) with SQLite's `?` placeholders, count_rows, columns, log_text (every
instance's, each under a header), add_user, store_args / store_env (what a CLI command or another
hub needs to open the same store), stop(check), halt(check), crash() and restart() (all instances;
a restart keeps the ports and the database). A SQLite-only attribute (database_path, process) is
missing on purpose: a test that needs one is single-instance.

With check_spread (the conftest clusters), stop() also checks nginx's access log: when the cluster
answered /mcp or /token requests, more than one instance must have answered them, so a suite that
passed really ran against several instances.
"""

from __future__ import annotations

import base64
import concurrent.futures
import os
import re
import subprocess
import tempfile
import time
from contextlib import ExitStack, contextmanager
from typing import Callable, Iterator, NamedTuple

import httpx2
import pytest

from conftest import GatehouseServer
from peers.postgres import PostgresServer
from peers.round_robin import FAIL_TIMEOUT_S, RoundRobin, nginx_round_robin

INSTANCES = 3
CLI_TIMEOUT_S = 30.0
# Bound on the start (or restart) of all instances together.
START_TIMEOUT_S = 60.0
# How long nginx's access log must stay unchanged for Cluster.mark().
LOG_QUIET_S = 0.04
# After a restart: how long nginx may take to route to every instance again.
REBALANCE_TIMEOUT_S = 15.0
SECRET_KEY = "GATEHOUSE_SECRET_KEY"


def new_secret_key() -> str:
    """A GATEHOUSE_SECRET_KEY: 32 random bytes, standard base64."""
    return base64.b64encode(os.urandom(32)).decode()


def secret_key_in(extra_args: list[str]) -> str | None:
    """The GATEHOUSE_SECRET_KEY given as `--env GATEHOUSE_SECRET_KEY=...` in a hub's arguments."""
    for flag, value in zip(extra_args, extra_args[1:]):
        if flag == "--env" and value.startswith(SECRET_KEY + "="):
            return value.split("=", 1)[1]
    return None


class Served(NamedTuple):
    """One line of nginx's access log."""

    port: int | None  # the instance that answered (the last one nginx tried)
    tried: list[str]  # every upstream nginx tried, "127.0.0.1:P"
    status: int  # what the client got
    method: str
    uri: str


class Cluster:
    """The balancer as the clients see it, with the instances behind it and their database (see the
    module docstring). Built stopped: start() it, stop() it (both also through balanced_hubs)."""

    def __init__(
        self,
        postgres: PostgresServer,
        database_url: str,
        names: list[str],
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        *,
        name: str | None = None,
        mcp_path: str = "/mcp",
        fail_timeout_s: int = FAIL_TIMEOUT_S,
        check_spread: bool = False,
    ) -> None:
        self.postgres = postgres
        self.database_url = database_url
        self.database = database_url.rsplit("/", 1)[1].split("?", 1)[0]
        self.name = name or "cluster"
        self.host = "127.0.0.1"
        self.mcp_path = mcp_path
        self.extra_args = list(extra_args or [])
        env = dict(env or {})
        # One key for all: the caller's (an `--env` argument wins over the environment in the hub,
        # so it is the one to share), else a new one.
        self.secret_key = secret_key_in(self.extra_args) or env.get(SECRET_KEY) or new_secret_key()
        env[SECRET_KEY] = self.secret_key
        self.instances = [
            GatehouseServer(instance, ["--database-url", database_url, *self.extra_args], mcp_path, "hub", env)
            for instance in names
        ]
        self.binary = self.instances[0].binary
        self.workdir = tempfile.TemporaryDirectory(prefix=f"gatehouse-{self.name}-")
        self.fail_timeout_s = fail_timeout_s
        self.check_spread = check_spread
        self.nginx: RoundRobin | None = None
        self.started: list[GatehouseServer] = []
        # Indexes of instances a test killed for good: their exit code is not checked at stop().
        self.killed: set[int] = set()
        self._stack = ExitStack()
        self._stopped = False
        self.created_at = time.time()

    # ------------------------------------------------------------------ what clients see

    @property
    def base_url(self) -> str:
        assert self.nginx is not None, "the cluster is not started"
        return self.nginx.base_url

    @property
    def port(self) -> int:
        assert self.nginx is not None, "the cluster is not started"
        return self.nginx.port

    @property
    def mcp_url(self) -> str:
        return self.base_url + self.mcp_path

    @property
    def ports(self) -> set[int]:
        return {server.port for server in self.instances}

    # ------------------------------------------------------------------ life cycle

    def start(self) -> "Cluster":
        """nginx, then every instance at once (as a deployment starts them), each waiting for its
        /healthz. Raises RuntimeError (everything stopped again) when one does not come up."""
        self.nginx = self._stack.enter_context(
            nginx_round_robin([server.port for server in self.instances], fail_timeout_s=self.fail_timeout_s))
        if "--base-url" not in self.extra_args:
            for server in self.instances:
                server.extra_args += ["--base-url", self.nginx.base_url]
        errors = start_together(self.instances, self.started)
        if errors:
            problems = self._stop_instances(check=False)
            self._stopped = True
            self._close()
            raise RuntimeError(f"cluster {self.name}: not every instance came up.\n" + "\n".join(errors + problems))
        return self

    def stop(self, check: bool = True) -> None:
        """Stops every instance (SIGTERM, then SIGKILL after 5 s) and nginx. With check: every
        instance that was started and not killed by the test must exit 0, and (check_spread) the
        traffic must have reached more than one instance. Reports every problem at once."""
        if self._stopped:
            return
        self._stopped = True
        problems = self._stop_instances(check)
        if check and self.check_spread and self.nginx is not None:
            problem = self.spread_problem()
            if problem:
                problems.append(problem)
        self._close()
        if problems:
            pytest.fail("\n\n".join(problems), pytrace=False)

    def halt(self, check: bool = True) -> int:
        """Every instance like GatehouseServer.halt() (SIGTERM; their working directories, the
        database and nginx stay for restart()). Returns 0, or the first non-zero exit code."""
        problems, codes = self._each(lambda server: server.halt(check=check))
        if problems:
            pytest.fail("\n\n".join(problems), pytrace=False)
        return next((code for code in codes if code), 0)

    def crash(self) -> None:
        """SIGKILL of every instance at once; the database and nginx stay for restart()."""
        for server in self.instances:
            if server.process is not None and server.process.poll() is None:
                server.process.kill()
        for server in self.instances:
            server.crash()

    def restart(self) -> None:
        """Starts every instance again (after halt() or crash()) on the same ports and database,
        all at once, then waits (bounded) until nginx routes to each of them again: an instance it
        found dead is left out for fail_timeout_s."""
        assert self.nginx is not None, "the cluster is not started"
        restarted: list[GatehouseServer] = []
        errors = start_together(self.instances, restarted, lambda server: server.restart())
        if errors:
            pytest.fail(f"cluster {self.name}: not every instance came up again.\n" + "\n".join(errors), pytrace=False)
        self._wait_balanced()

    def _wait_balanced(self) -> None:
        assert self.nginx is not None
        since = len(self.nginx.access_log())
        deadline = time.monotonic() + REBALANCE_TIMEOUT_S
        answered: set[int | None] = set()
        with httpx2.Client(timeout=5.0) as http:
            while time.monotonic() < deadline:
                http.get(self.base_url + "/healthz")
                answered = {s.port for s in self.served(since) if s.status == 200}
                if self.ports <= answered:
                    return
                time.sleep(0.1)
        pytest.fail(f"cluster {self.name}: nginx did not route to every instance within {REBALANCE_TIMEOUT_S:.0f} s of "
                    f"the restart (answered: {sorted(p for p in answered if p)}, instances: {sorted(self.ports)})",
                    pytrace=False)

    def _each(self, action: Callable[[GatehouseServer], object]) -> tuple[list[str], list[object]]:
        problems: list[str] = []
        results: list[object] = []
        for server in self.instances:
            try:
                results.append(action(server))
            except pytest.fail.Exception as failure:
                problems.append(str(failure.msg))
        return problems, results

    def _stop_instances(self, check: bool) -> list[str]:
        problems, _ = self._each(lambda server: server.stop(
            check=check and server in self.started and self.instances.index(server) not in self.killed))
        return problems

    def _close(self) -> None:
        self._stack.close()
        self.workdir.cleanup()

    def spread_problem(self) -> str | None:
        """None when the cluster answered no /mcp or /token request, or when more than one instance
        answered them (all requests, when there was only one such); else what went wrong."""
        served = [s for s in self.served(0) if s.port is not None]
        api = [s for s in served if s.uri.split("?", 1)[0] in (self.mcp_path, "/token")]
        if not api:
            return None
        ports = {s.port for s in (api if len(api) > 1 else served)}
        if len(ports) > 1:
            return None
        return (f"cluster {self.name}: every request was answered by one instance ({ports}), so the test did not run "
                f"against several; nginx's access log:\n" + "\n".join(self.nginx.access_log() if self.nginx else []))

    # ------------------------------------------------------------------ nginx's access log

    def mark(self) -> int:
        """The number of access-log lines once the log has been quiet for LOG_QUIET_S (at most 2 s):
        nginx writes a request's line just after sending the response, so the client may already
        have the answer of a request whose line is still to come."""
        assert self.nginx is not None
        count, deadline = len(self.nginx.access_log()), time.monotonic() + 2.0
        while time.monotonic() < deadline:
            time.sleep(LOG_QUIET_S)
            now = len(self.nginx.access_log())
            if now == count:
                break
            count = now
        return count

    def served(self, since: int, min_new: int = 0) -> list[Served]:
        """The access-log lines after `since`, waiting (bounded) for at least `min_new` of them."""
        assert self.nginx is not None
        served = []
        for line in self.nginx.access_log(min_lines=since + min_new)[since:]:
            addresses, _, status, method, uri = line.split("\t")
            tried = [address.strip() for address in addresses.split(",")]
            last = re.fullmatch(r"127\.0\.0\.1:(\d+)", tried[-1])
            served.append(Served(int(last.group(1)) if last else None, tried, int(status), method, uri))
        return served

    # ------------------------------------------------------------------ the store

    def psql(self, sql: str) -> str:
        """`psql -At` output of `sql` on the cluster's database (columns separated by |)."""
        return self.postgres.psql(sql, database=self.database)

    def query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        """Rows of a read-only query on the cluster's database, as tuples of Python values
        (psycopg: bigint -> int, bytea -> bytes). `sql` uses SQLite's `?` placeholders."""
        import psycopg

        statement = sql.replace("%", "%%").replace("?", "%s") if parameters else sql
        with psycopg.connect(self.database_url, connect_timeout=5, autocommit=True,
                             options="-c default_transaction_read_only=on -c statement_timeout=10000") as connection:
            return [tuple(row) for row in connection.execute(statement, parameters or None).fetchall()]

    def count_rows(self, table: str) -> int:
        """SELECT count(*) FROM `table` in the cluster's database."""
        return self.query(f"SELECT count(*) FROM {table}")[0][0]

    def columns(self, table: str) -> list[str]:
        """The column names of `table`, in order."""
        rows = self.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? "
            "ORDER BY ordinal_position", (table,))
        return [row[0] for row in rows]

    def store_files(self) -> dict[str, bytes]:
        """The raw bytes of what PostgreSQL keeps of this database on disk: its data files
        (base/OID/...) and the write-ahead log segments written since the cluster was made (the
        WAL holds every row written, before any checkpoint moves it into the data files)."""
        [(oid,)] = self.query("SELECT oid FROM pg_database WHERE datname = current_database()")
        data = self.postgres.directory / "data"
        since = self.created_at - 1.0
        files: dict[str, bytes] = {}
        for path in sorted((data / "base" / str(oid)).iterdir()):
            if path.is_file():
                files[f"base/{oid}/{path.name}"] = path.read_bytes()
        for path in sorted((data / "pg_wal").iterdir()):
            if path.is_file() and path.stat().st_mtime >= since:
                files[f"pg_wal/{path.name}"] = path.read_bytes()
        return files

    @property
    def store_args(self) -> list[str]:
        """The arguments that name this cluster's store, for a CLI command or another hub."""
        return ["--database-url", self.database_url]

    @property
    def store_env(self) -> dict[str, str]:
        """The environment a process opening this store needs: the shared secret key."""
        return {SECRET_KEY: self.secret_key}

    def add_user(self, email: str, name: str, password: str) -> None:
        """`gatehouse idp add-user` on the shared database, as an operator would while the
        instances run; the key in the environment, as in production."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEHOUSE_", "HUB_", "MCP_", "WORKOS_"))}
        env[SECRET_KEY] = self.secret_key
        argv = [str(self.binary), "idp", "add-user", email, "--name", name, "--password-stdin", "--database-url", self.database_url]
        done = subprocess.run(argv, input=password + "\n", capture_output=True, text=True, env=env, cwd=self.workdir.name,
                              timeout=CLI_TIMEOUT_S)
        assert done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"

    # ------------------------------------------------------------------ reports

    def log_text(self) -> str:
        """Every instance's output (of its current run), each under a header."""
        return "\n".join(f"===== {server.name} (127.0.0.1:{server.port}) =====\n{server.log_text()}" for server in self.instances)


def start_together(servers: list[GatehouseServer], started: list[GatehouseServer],
                   start: Callable[[GatehouseServer], object] = lambda server: server.start()) -> list[str]:
    """Starts `servers` at the same time (`start`, default GatehouseServer.start, waits for the
    server's /healthz); appends those that came up to `started` and returns what went wrong with
    the others."""
    errors = []
    with concurrent.futures.ThreadPoolExecutor(len(servers)) as pool:
        futures = {pool.submit(start, server): server for server in servers}
        for future, server in futures.items():
            try:
                future.result(timeout=START_TIMEOUT_S)
                started.append(server)
            except Exception as error:  # noqa: BLE001 (reported by the caller, with every instance's)
                errors.append(f"{server.name}: {error}")
    return errors


@contextmanager
def balanced_hubs(postgres: PostgresServer, database: str, names: list[str], extra_args: list[str] | None = None,
                  env: dict[str, str] | None = None) -> Iterator[Cluster]:
    """`gatehouse hub` instances on a new `database` of `postgres`, one GATEHOUSE_SECRET_KEY, behind
    nginx round robin; every instance's --base-url is nginx's. All start at once. Stops them all at
    exit (exit code 0 required of those the test did not kill)."""
    cluster = Cluster(postgres, postgres.create_database(database), names, extra_args, env, name=database)
    try:
        try:
            cluster.start()
        except RuntimeError as error:
            pytest.fail(str(error), pytrace=False)
        yield cluster
    finally:
        cluster.stop(check=True)
