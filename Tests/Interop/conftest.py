"""Fixtures for the Gatehouse interop suite.

Each fixture starts the real `gatehouse hub` binary on a free loopback port,
waits for GET /healthz, hands the base URL to the tests and, at the end of the
session, stops the server with SIGTERM and checks that it shut down cleanly
(exit code 0). Server output goes to a temp file that is attached to the report
of every failing test and to the error of a failing start or stop.

The OAuth fixtures add a local authorization server / JWT issuer (test_issuer.LocalIssuer,
a thread in this process) and hubs that verify its tokens (MCP_JWT_ISSUER).

The embedded-AS fixtures start hubs whose authorization server is the embedded one (the
default provider): issuer = the hub's base URL, store = <workdir>/hub_data/hub.db.

Deployment modes (GATEHOUSE_INTEROP_DEPLOYMENT):
  single   (the default) each hub fixture is one `gatehouse hub` process on its own SQLite file
  cluster  each hub that a fixture serves with _serve() or a test starts with start_extra_server()
           (command "hub") is a peers.cluster.Cluster instead: CLUSTER_INSTANCES (3) `gatehouse
           hub` processes with the fixture's arguments, on a new database of one throwaway
           PostgreSQL server (started once per session, when the first cluster needs it), the
           same GATEHOUSE_SECRET_KEY, `--base-url` naming nginx, which balances round robin in
           front of them. The cluster duck-types GatehouseServer (base_url, mcp_url, query(),
           add_user(), store_args, halt()/crash()/restart() of every instance, ...), and its
           stop() also checks that more than one instance answered the /mcp and /token requests.
           Tests that cannot run against a cluster carry @pytest.mark.single_instance("why") and
           are skipped, with that reason, in cluster mode.

Environment:
  GATEHOUSE_BIN                  path of the server binary (default: <repo>/.build/debug/gatehouse)
  GATEHOUSE_INTEROP_DEPLOYMENT   single (default) or cluster, see above
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import httpx2
import pytest

from test_issuer import LocalIssuer

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO_ROOT / ".build" / "debug" / "gatehouse"

DEPLOYMENTS = ("single", "cluster")
DEPLOYMENT = os.environ.get("GATEHOUSE_INTEROP_DEPLOYMENT", "single") or "single"
# Instances of each hub in cluster mode.
CLUSTER_INSTANCES = 3

STARTUP_TIMEOUT_S = 20.0
SHUTDOWN_GRACE_S = 5.0
HTTP_TIMEOUT_S = 5.0

# Servers started in this session, so failing test reports can show their output.
_RUNNING: list["GatehouseServer"] = []
# Local OAuth issuers running in this session, for the same reason.
_ISSUERS: list[LocalIssuer] = []


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now (bind to port 0, then close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def terminate(process: subprocess.Popen[bytes]) -> bool:
    """SIGTERM, wait up to SHUTDOWN_GRACE_S, then SIGKILL; returns True when it had to kill."""
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=SHUTDOWN_GRACE_S)
        return False
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=SHUTDOWN_GRACE_S)
        return True


class GatehouseServer:
    """One `gatehouse hub` process (or another serving subcommand, e.g. `gateway`) with its
    output captured to a temp file."""

    def __init__(
        self, name: str, extra_args: list[str], mcp_path: str = "/mcp", command: str = "hub", env: dict[str, str] | None = None
    ) -> None:
        # Settings passed in the environment (secrets), kept out of the logged command line.
        self.extra_env = dict(env or {})
        self.name = name
        self.command = command
        # Resolved now: the server runs with its cwd in a temp dir, where a relative path would miss.
        self.binary = Path(os.environ.get("GATEHOUSE_BIN", str(DEFAULT_BIN))).resolve()
        self.port = free_port()
        self.host = "127.0.0.1"
        self.base_url = f"http://{self.host}:{self.port}"
        self.mcp_path = mcp_path
        self.extra_args = extra_args
        self.workdir = tempfile.TemporaryDirectory(prefix=f"gatehouse-{name}-")
        self.log_path = Path(self.workdir.name) / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file = None

    @property
    def mcp_url(self) -> str:
        return self.base_url + self.mcp_path

    @property
    def database_path(self) -> Path:
        """The SQLite store of a hub with the embedded authorization server: the default
        relative path hub_data/hub.db under the server's working directory, unless the
        server was started with --database-path."""
        if "--database-path" in self.extra_args:
            return Path(self.extra_args[self.extra_args.index("--database-path") + 1])
        return Path(self.workdir.name) / "hub_data" / "hub.db"

    def query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        """Rows of a read-only query on the server's store, while it runs."""
        connection = sqlite3.connect(f"file:{self.database_path}?mode=ro", uri=True, timeout=5.0)
        try:
            return connection.execute(sql, parameters).fetchall()
        finally:
            connection.close()

    def count_rows(self, table: str) -> int:
        """SELECT count(*) FROM `table` in the server's store."""
        return self.query(f"SELECT count(*) FROM {table}")[0][0]

    def columns(self, table: str) -> list[str]:
        """The column names of `table` in the server's store, in order."""
        return [row[0] for row in self.query("SELECT name FROM pragma_table_info(?)", (table,))]

    @property
    def store_args(self) -> list[str]:
        """The arguments that name this server's store, for a CLI command or another hub."""
        return ["--database-path", str(self.database_path)]

    @property
    def store_env(self) -> dict[str, str]:
        """What the environment of a process opening this store needs (nothing: SQLite's key file
        lies beside the database)."""
        return {}

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"<could not read {self.log_path}: {error}>"

    def start(self) -> None:
        if not self.binary.is_file():
            raise RuntimeError(
                f"gatehouse binary not found at {self.binary}; run `swift build` in {REPO_ROOT} "
                "or set GATEHOUSE_BIN"
            )
        # A clean environment: no GATEHOUSE_*/HUB_*/MCP_*/WORKOS_* settings (an auth provider!)
        # leak in from the caller, and the working directory is an empty temp dir so no stray
        # .env file is picked up.
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("GATEHOUSE_", "HUB_", "MCP_", "WORKOS_")) and key not in ("LOG_LEVEL",)
        }
        env.update(self.extra_env)
        argv = [
            str(self.binary),
            self.command,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--log-level",
            "debug",
            *self.extra_args,
        ]
        self._log_file = open(self.log_path, "wb")
        self._log_file.write(("$ " + " ".join(argv) + "\n").encode())
        self._log_file.flush()
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=self.workdir.name,
            env=env,
        )
        _RUNNING.append(self)
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        last_error: str = "no attempt made"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise RuntimeError(
                    f"gatehouse ({self.name}) exited with code {code} during start-up.\n"
                    f"--- server output ---\n{self.log_text()}"
                )
            try:
                response = httpx2.get(self.base_url + "/healthz", timeout=1.0)
                if response.status_code == 200 and self._is_healthy(response.json()):
                    return
                last_error = f"HTTP {response.status_code}: {response.text[:200]!r}"
            except (httpx2.HTTPError, ValueError) as error:
                last_error = repr(error)
            time.sleep(0.1)
        self.stop(check=False)
        raise RuntimeError(
            f"gatehouse ({self.name}) did not answer GET /healthz within {STARTUP_TIMEOUT_S:.0f} s "
            f"(last: {last_error}).\n--- server output ---\n{self.log_text()}"
        )

    def _is_healthy(self, body: object) -> bool:
        """A hub answers exactly {"status": "ok"}; a gateway adds its upstreams' states."""
        if self.command == "gateway":
            return isinstance(body, dict) and body.get("status") == "ok" and isinstance(body.get("upstreams"), list)
        return body == {"status": "ok"}

    def add_user(self, email: str, name: str, password: str) -> None:
        """`gatehouse idp add-user` on this hub's database, as an operator would (before or
        while the hub runs: SQLite in WAL mode lets both open it)."""
        database = Path(self.workdir.name) / "hub_data" / "hub.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEHOUSE_", "HUB_", "MCP_", "WORKOS_"))}
        argv = [str(self.binary), "idp", "add-user", email, "--name", name, "--password-stdin", "--database-path", str(database)]
        done = subprocess.run(
            argv, input=password + "\n", capture_output=True, text=True, cwd=self.workdir.name, env=env, timeout=30
        )
        assert done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"

    def stop(self, check: bool = True) -> None:
        """SIGTERM, wait up to 5 s, then SIGKILL. With check, require exit code 0."""
        process = self.process
        if process is None:
            return
        killed = terminate(process)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self in _RUNNING:
            _RUNNING.remove(self)
        code = process.returncode
        log = self.log_text()
        self.workdir.cleanup()
        if check:
            if killed:
                pytest.fail(
                    f"gatehouse ({self.name}) did not exit within {SHUTDOWN_GRACE_S:.0f} s of SIGTERM "
                    f"and was killed.\n--- server output ---\n{log}",
                    pytrace=False,
                )
            if code != 0:
                pytest.fail(
                    f"gatehouse ({self.name}) exited with code {code} after SIGTERM; graceful "
                    f"shutdown should exit 0.\n--- server output ---\n{log}",
                    pytrace=False,
                )

    # ---------------------------------------------------------------- restarts on the same store
    # For test_hub.py: the hub stopped (gracefully or by a crash) and started again on the same
    # port, working directory and database, so tokens issued before (issuer = base URL) still work.

    def halt(self, check: bool = True) -> int:
        """Like stop() (SIGTERM, wait, with check require exit code 0) but keeps the working
        directory and the database for restart(). Returns the exit code."""
        process = self.process
        assert process is not None, "the server is not running"
        killed = terminate(process)
        self._detach()
        if check and (killed or process.returncode != 0):
            pytest.fail(
                f"gatehouse ({self.name}) did not shut down cleanly after SIGTERM "
                f"({'killed after the grace period' if killed else f'exit code {process.returncode}'}).\n"
                f"--- server output ---\n{self.log_text()}",
                pytrace=False,
            )
        return process.returncode

    def crash(self) -> None:
        """SIGKILL: the process dies at once, mid-write if it was writing. The working directory
        and the database (with its -wal and -shm files) stay for inspection and restart()."""
        process = self.process
        assert process is not None, "the server is not running"
        if process.poll() is None:
            process.kill()
        process.wait(timeout=SHUTDOWN_GRACE_S)
        self._detach()

    def restart(self) -> None:
        """Starts the binary again (after halt() or crash()) on the same port, working directory
        and database. The previous output is kept next to the log as server.log.N."""
        assert self.process is not None and self.process.poll() is not None, "halt() or crash() the server first"
        runs = 1
        while self.log_path.with_name(f"server.log.{runs}").exists():
            runs += 1
        self.log_path.rename(self.log_path.with_name(f"server.log.{runs}"))
        self.start()

    def _detach(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self in _RUNNING:
            _RUNNING.remove(self)


# --------------------------------------------------------------------------------------
# The deployment mode: one process per hub, or a cluster (see the module docstring)
# --------------------------------------------------------------------------------------

# What the session started for clusters (the PostgreSQL server), closed at the end of the session.
_SESSION_RESOURCES = contextlib.ExitStack()
_POSTGRES: list[object] = []
_CLUSTER_NUMBERS = itertools.count(1)


def cluster_mode() -> bool:
    """True when GATEHOUSE_INTEROP_DEPLOYMENT=cluster: hubs are clusters."""
    return DEPLOYMENT == "cluster"


def instances_of(hub) -> list[GatehouseServer]:
    """The processes of a hub: the cluster's instances, or the one server."""
    return list(getattr(hub, "instances", [hub]))


def is_running(hub) -> bool:
    """Every process of the hub is running (none was stopped, halted or crashed)."""
    return all(server.process is not None and server.process.poll() is None for server in instances_of(hub))


def _session_postgres():
    """The session's throwaway PostgreSQL server (peers.postgres), started on first use."""
    if not _POSTGRES:
        from peers.postgres import postgres_server

        _POSTGRES.append(_SESSION_RESOURCES.enter_context(postgres_server()))
    return _POSTGRES[0]


def new_hub(name: str, extra_args: list[str], mcp_path: str = "/mcp", command: str = "hub",
            env: dict[str, str] | None = None):
    """A hub (not started yet) as the deployment mode builds it: a GatehouseServer, or in cluster
    mode (command "hub" only) a Cluster of CLUSTER_INSTANCES instances behind nginx. The cluster
    gets a new database unless `extra_args` name one with --database-url (another hub's
    store_args: the cluster then runs on that database). Raises RuntimeError when PostgreSQL
    cannot be started."""
    if not cluster_mode() or command != "hub":
        return GatehouseServer(name, extra_args, mcp_path, command, env)
    from peers.cluster import Cluster

    if "--database-path" in extra_args:
        raise RuntimeError(f"hub {name}: --database-path names a SQLite file, which no cluster can share; "
                           "mark the test @pytest.mark.single_instance(\"why\") or give it the hub's store_args")
    args = list(extra_args)
    postgres = _session_postgres()
    if "--database-url" in args:
        index = args.index("--database-url")
        database_url = args[index + 1]
        del args[index:index + 2]
    else:
        slug = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
        database_url = postgres.create_database(f"c{next(_CLUSTER_NUMBERS)}_{slug}"[:63])
    return Cluster(postgres, database_url, [f"{name}-{index}" for index in range(CLUSTER_INSTANCES)], args, env,
                   name=name, mcp_path=mcp_path, fail_timeout_s=1, check_spread=True)


def _serve(name: str, extra_args: list[str], mcp_path: str):
    try:
        server = new_hub(name, extra_args, mcp_path)
        server.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield server
    finally:
        server.stop(check=True)


@pytest.fixture(scope="session")
def gatehouse_server():
    """An anonymous server (MCP endpoint at /mcp): `--provider none`, no login, so the
    protocol tests exercise MCP alone. The embedded-AS hubs are further down."""
    yield from _serve("default", ["--provider", "none"], "/mcp")


@pytest.fixture(scope="session")
def gatehouse(gatehouse_server: GatehouseServer) -> str:
    """Base URL of the default server, e.g. http://127.0.0.1:PORT."""
    return gatehouse_server.base_url


@pytest.fixture(scope="session")
def mcp_url(gatehouse_server: GatehouseServer) -> str:
    """MCP endpoint URL of the default server."""
    return gatehouse_server.mcp_url


@pytest.fixture(scope="session")
def gatehouse_api_server():
    """A second anonymous server whose MCP endpoint is at /api/mcp."""
    yield from _serve("api-path", ["--provider", "none", "--mcp-path", "/api/mcp"], "/api/mcp")


@pytest.fixture(scope="session")
def gatehouse_api(gatehouse_api_server: GatehouseServer) -> str:
    """Base URL of the /api/mcp server."""
    return gatehouse_api_server.base_url


# --------------------------------------------------------------------------------------
# OAuth: a local issuer and hubs that accept its JWT access tokens
# --------------------------------------------------------------------------------------


def _issuer(**options):
    issuer = LocalIssuer(**options).start()
    _ISSUERS.append(issuer)
    try:
        yield issuer
    finally:
        _ISSUERS.remove(issuer)
        issuer.stop()


@pytest.fixture(scope="session")
def issuer():
    """The local authorization server / JWT issuer (test_issuer.LocalIssuer) on a free port."""
    yield from _issuer()


@pytest.fixture(scope="session")
def gatehouse_jwt(issuer: LocalIssuer):
    """A hub that verifies JWT access tokens from `issuer` (MCP_JWT_ISSUER), no required scopes."""
    yield from _serve("jwt", ["--env", f"MCP_JWT_ISSUER={issuer.issuer}"], "/mcp")


@pytest.fixture(scope="session")
def scoped_issuer():
    """A second issuer whose RFC 8414 document also carries OpenID-only fields, as many real
    providers' do, so the hub's mirror has something to strip."""
    yield from _issuer(oidc_fields_in_oauth_metadata=True)


@pytest.fixture(scope="session")
def gatehouse_scoped(scoped_issuer: LocalIssuer):
    """A hub that verifies tokens from `scoped_issuer` and requires the scope mcp:read."""
    yield from _serve(
        "jwt-scoped",
        ["--env", f"MCP_JWT_ISSUER={scoped_issuer.issuer}", "--env", "MCP_REQUIRED_SCOPES=mcp:read"],
        "/mcp",
    )


# --------------------------------------------------------------------------------------
# The embedded authorization server (the hub's default provider)
# --------------------------------------------------------------------------------------

# Every authorization is approved at once for this user (GET /authorize redirects with a code).
DEV_USER = "dev@localhost"


@pytest.fixture(scope="session")
def embedded_hub():
    """A hub with the embedded authorization server and --dev-auto-approve, default lifetimes
    (access tokens 900 s). Tests register their own clients or use the session-scoped ones in
    test_embedded_oauth.py; dynamic registration is limited to 20 per minute per address,
    so tests on this hub register sparingly."""
    yield from _serve("embedded", ["--dev-auto-approve"], "/mcp")


@pytest.fixture(scope="session")
def embedded_short_hub():
    """An embedded-AS hub whose access tokens live 10 s (the minimum) with no clock-skew
    leeway, so a token is really refused soon after it expires and clients must refresh."""
    yield from _serve(
        "embedded-short-ttl",
        ["--dev-auto-approve", "--env", "GATEHOUSE_ACCESS_TOKEN_TTL=10", "--env", "GATEHOUSE_JWT_LEEWAY=0"],
        "/mcp",
    )


@pytest.fixture(scope="session")
def embedded_cimd_hub():
    """An embedded-AS hub that may fetch Client ID Metadata Documents from loopback over http
    (GATEHOUSE_CIMD_ALLOW_PRIVATE=true), so a document served by the test process is usable."""
    yield from _serve("embedded-cimd", ["--dev-auto-approve", "--env", "GATEHOUSE_CIMD_ALLOW_PRIVATE=true"], "/mcp")


@pytest.fixture
def fresh_embedded_hub():
    """A new embedded-AS hub for one test, for state that must not leak (the registration
    rate limit, the signing keys)."""
    yield from _serve("embedded-fresh", ["--dev-auto-approve"], "/mcp")


def start_extra_server(
    name: str, extra_args: list[str], mcp_path: str = "/mcp", command: str = "hub", env: dict[str, str] | None = None
) -> GatehouseServer:
    """Starts one more hub (or `command`) inside a test, with `env` added to its (clean)
    environment; the caller stops it with .stop() (in a finally). In cluster mode a hub is a
    cluster (new_hub)."""
    try:
        server = new_hub(name, extra_args, mcp_path, command, env)
        server.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    return server


@pytest.fixture
def http():
    """A synchronous HTTP client with a timeout on every call."""
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as client:
        yield client


def pytest_configure(config: pytest.Config) -> None:
    if DEPLOYMENT not in DEPLOYMENTS:
        raise pytest.UsageError(f"GATEHOUSE_INTEROP_DEPLOYMENT={DEPLOYMENT!r}: expected one of {', '.join(DEPLOYMENTS)}")


def pytest_report_header(config: pytest.Config) -> str:
    if cluster_mode():
        return (f"gatehouse deployment: cluster ({CLUSTER_INSTANCES} hub instances per hub on PostgreSQL, "
                "nginx round robin in front); single_instance tests are skipped")
    return "gatehouse deployment: single (one hub process per hub, SQLite)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """single_instance("why") needs its reason; in cluster mode the test is skipped with it."""
    for item in items:
        marker = item.get_closest_marker("single_instance")
        if marker is None:
            continue
        reason = marker.args[0] if marker.args else marker.kwargs.get("reason")
        if not reason:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.single_instance needs the reason, concretely")
        if cluster_mode():
            item.add_marker(pytest.mark.skip(reason=f"single instance only: {reason}"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stops the session's PostgreSQL server of the clusters, if one was started."""
    _SESSION_RESOURCES.close()
    _POSTGRES.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in list(_RUNNING):
            report.sections.append((f"gatehouse server output ({server.name})", server.log_text()))
        for issuer in list(_ISSUERS):
            report.sections.append((f"local issuer requests ({issuer.issuer})", issuer.log_text()))


# --------------------------------------------------------------------------------------
# Peer servers nobody here wrote (Tests/Interop/peers/), for the gatehouse CLI client tests
# --------------------------------------------------------------------------------------

PEERS_DIR = Path(__file__).resolve().parent / "peers"


class PeerServer:
    """One peer server script from peers/ run with this interpreter (`--port PORT` added), its
    output captured to a temp file; healthy when GET /healthz answers {"status": "ok"}. Shown
    in failing test reports like the hubs."""

    def __init__(self, name: str, script: str, extra_args: list[str] | None = None) -> None:
        self.name = name
        self.script = PEERS_DIR / script
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.mcp_url = self.base_url + "/mcp"
        self.extra_args = extra_args or []
        self.workdir = tempfile.TemporaryDirectory(prefix=f"peer-{name}-")
        self.log_path = Path(self.workdir.name) / "peer.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"<could not read {self.log_path}: {error}>"

    def start(self) -> "PeerServer":
        import sys

        argv = [sys.executable, str(self.script), "--port", str(self.port), *self.extra_args]
        self._log_file = open(self.log_path, "wb")
        self._log_file.write(("$ " + " ".join(argv) + "\n").encode())
        self._log_file.flush()
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=subprocess.STDOUT, cwd=self.workdir.name
        )
        _RUNNING.append(self)  # type: ignore[arg-type]  # duck-typed: name and log_text()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        last_error = "no attempt made"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                self.stop(check=False)
                raise RuntimeError(f"peer {self.name} exited with code {code} during start-up.\n{self.log_text()}")
            try:
                response = httpx2.get(self.base_url + "/healthz", timeout=1.0)
                if response.status_code == 200 and response.json() == {"status": "ok"}:
                    return self
                last_error = f"HTTP {response.status_code}: {response.text[:200]!r}"
            except (httpx2.HTTPError, ValueError) as error:
                last_error = repr(error)
            time.sleep(0.1)
        log = self.log_text()
        self.stop(check=False)
        raise RuntimeError(f"peer {self.name} did not answer GET /healthz within {STARTUP_TIMEOUT_S:.0f} s "
                           f"(last: {last_error}).\n{log}")

    def stop(self, check: bool = True) -> None:
        """SIGTERM, wait up to 5 s, then SIGKILL. With check, require exit code 0."""
        process = self.process
        if process is None:
            return
        self.process = None
        killed = terminate(process)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self in _RUNNING:
            _RUNNING.remove(self)  # type: ignore[arg-type]
        log = self.log_text()
        self.workdir.cleanup()
        if check and (killed or process.returncode != 0):
            pytest.fail(
                f"peer {self.name} did not shut down cleanly after SIGTERM "
                f"({'killed' if killed else f'exit code {process.returncode}'}).\n--- peer output ---\n{log}",
                pytrace=False,
            )


def serve_peer(name: str, script: str, extra_args: list[str] | None = None):
    """A fixture body: the peer started (a start-up failure fails the test with the peer's
    output), yielded, then stopped, which must be clean."""
    peer = PeerServer(name, script, extra_args)
    try:
        peer.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield peer
    finally:
        peer.stop(check=True)


@pytest.fixture(scope="session")
def sdk_auth_peer():
    """peers/sdk_auth_server.py: an MCP server built with the official Python SDK (MCPServer)
    that is its own authorization server (the SDK's /register, /authorize, /token routes) with
    an in-memory provider that approves every authorization at once; serves add(a, b)."""
    yield from serve_peer("sdk-auth", "sdk_auth_server.py")
