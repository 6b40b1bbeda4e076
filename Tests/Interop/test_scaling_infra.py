"""The scaling test helpers on their own, without Gatehouse: peers/postgres.py (a throwaway
PostgreSQL cluster run by scripts/postgres.sh) and peers/round_robin.py (nginx balancing round robin
over several instances). Three tiny stdlib HTTP servers that answer with their own port play the
instances: requests are spread over all of them, a killed one is skipped, streams pass unbuffered.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import httpx2
import pytest

from peers.postgres import PostgresServer, PsqlError, postgres, postgres_database, postgres_server  # noqa: F401 (fixtures)
from peers.round_robin import nginx_round_robin

HTTP_TIMEOUT_S = 5.0


# --------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
        return False
    except OSError:
        return True


def test_postgres_server_runs_sql_creates_databases_and_goes_away() -> None:
    with postgres_server() as pg:
        assert pg.url == f"postgres://gatehouse:gatehouse@127.0.0.1:{pg.port}/gatehouse"
        assert pg.psql("select 1") == "1"
        # Connected as gatehouse over TCP to 127.0.0.1, which owns the database and is no superuser.
        assert pg.psql("select current_user, current_database(), inet_server_addr(), inet_server_port()") == \
            f"gatehouse|gatehouse|127.0.0.1|{pg.port}"
        assert pg.psql("select rolsuper from pg_roles where rolname = current_user") == "f"
        assert pg.psql("show listen_addresses; show fsync; show server_version_num").splitlines()[:2] == ["127.0.0.1", "off"]
        # Several statements: only query rows come back (no command tags), | between columns.
        assert pg.psql("create table items (id int primary key, name text); "
                       "insert into items values (1, 'a'), (2, 'b'); select * from items order by id") == "1|a\n2|b"

        second = pg.create_database("second")
        assert second == f"postgres://gatehouse:gatehouse@127.0.0.1:{pg.port}/second"
        assert pg.create_database("second") == second  # kept, not an error
        assert pg.psql("select pg_get_userbyid(datdba) from pg_database where datname = 'second'") == "gatehouse"
        # A database of its own: the table of the first one is not there, and a failing statement raises.
        with pytest.raises(PsqlError, match='relation "items" does not exist'):
            pg.psql("select * from items", database="second")
        assert pg.psql("create table items (id int); select count(*) from items", database="second") == "0"
        with pytest.raises(ValueError):
            pg.create_database("Bad-Name")

        # Another client (psycopg, the Swift driver, ...) reaches it the same way: psql with the URL.
        directory, port = pg.directory, pg.port
    assert not directory.exists()
    assert _refused(port)


def test_postgres_checks_passwords_when_asked_and_stops_when_the_body_fails() -> None:
    with pytest.raises(RuntimeError, match="the body failed"):
        with postgres_server(auth="scram-sha-256") as pg:
            assert pg.psql("select 'scram'") == "scram"
            wrong = pg.url.replace("gatehouse:gatehouse@", "gatehouse:wrong@")
            done = subprocess.run(["psql", "-X", "-At", "-d", wrong, "-c", "select 1"], capture_output=True, text=True,
                                  timeout=30, env={"PATH": "/usr/bin:/bin", "PGCONNECT_TIMEOUT": "5"})
            assert done.returncode != 0 and "password authentication failed" in done.stderr, done.stderr
            directory, port = pg.directory, pg.port
            raise RuntimeError("the body failed")
    assert not directory.exists()
    assert _refused(port)


def test_postgres_fixtures_give_each_test_a_fresh_database(postgres: PostgresServer, postgres_database: str) -> None:
    name = postgres_database.rsplit("/", 1)[1]
    assert name.startswith("t") and "test_postgres_fixtures" in name
    assert postgres.psql("select count(*) from information_schema.tables where table_schema = 'public'", database=name) == "0"
    # gatehouse may create its schema there (PostgreSQL 15: only the owner may create in public).
    assert postgres.psql("create table t (x int); insert into t values (7); select x from t", database=name) == "7"


# --------------------------------------------------------------------------------------
# nginx round robin over tiny instances
# --------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as nginx's upstream connections are

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        if self.path == "/stream":
            # An event, a pause, another event: nginx must pass the first one on at once.
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"data: first\n\n")
            self.wfile.flush()
            time.sleep(1.0)
            self.wfile.write(b"data: second\n\n")
            self.close_connection = True
            return
        body = str(port).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Seen-Host", self.headers.get("Host", ""))
        self.send_header("X-Seen-Proto", self.headers.get("X-Forwarded-Proto", ""))
        self.send_header("X-Seen-Connection", self.headers.get("Connection", ""))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))  # the body, so the connection stays usable
        self.do_GET()


class PortServer(ThreadingHTTPServer):
    """Answers every request with its own port. kill() ends it as a killed process would: the
    listening socket and every open connection (nginx's idle keep-alive ones too) are closed."""

    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.port = self.server_address[1]
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def get_request(self):  # type: ignore[override]
        connection, address = super().get_request()
        with self._lock:
            self._connections.add(connection)
        return connection, address

    def shutdown_request(self, request) -> None:  # type: ignore[override]
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def start(self) -> "PortServer":
        self._thread.start()
        return self

    def kill(self) -> None:
        self.shutdown()
        self.server_close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()


@pytest.fixture
def instances() -> Iterator[list[PortServer]]:
    servers = [PortServer().start() for _ in range(3)]
    try:
        yield servers
    finally:
        for server in servers:
            server.kill()


def test_nginx_spreads_requests_round_robin_and_skips_a_killed_instance(instances: list[PortServer]) -> None:
    ports = [server.port for server in instances]
    with nginx_round_robin(ports) as base, httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        assert base == f"http://127.0.0.1:{base.port}" and isinstance(base, str)
        answers = []
        for _ in range(30):
            response = http.get(base + "/who")
            assert response.status_code == 200, response.text
            answers.append(int(response.text))
        # Plain round robin (no affinity, though the client keeps one connection): 10 each.
        assert Counter(answers) == {port: 10 for port in ports}, answers
        # The log agrees, one line per request, and names the instance that answered.
        assert base.served_by(min_lines=30) == answers
        assert all(line.split("\t")[1:] == ["200", "200", "GET", "/who"] for line in base.access_log()), base.access_log()
        # What the instances were told: the client's Host (with its port) and the scheme.
        response = http.get(base + "/who")
        assert response.headers["x-seen-host"] == f"127.0.0.1:{base.port}"
        assert response.headers["x-seen-proto"] == "http"
        assert response.headers["x-seen-connection"] == ""  # keep-alive to the upstreams (HTTP/1.1, no "close")
        # A body over nginx's in-memory buffer goes through its temp dir (writable by its worker, `nobody` as root).
        assert http.post(base + "/who", content=b"x" * 200_000).status_code == 200

        # One instance dies: every request still succeeds, answered by the two others.
        killed = instances[1]
        killed.kill()
        before = len(base.access_log(min_lines=32))
        after_kill = []
        for _ in range(20):
            response = http.get(base + "/who")
            assert response.status_code == 200, (response.status_code, response.text, base.error_log_text()[-2000:])
            after_kill.append(int(response.text))
        assert set(after_kill) == {ports[0], ports[2]}, after_kill
        # POST too (nginx retries it only because the dead instance never received it).
        assert http.post(base + "/who", content=b"{}").status_code == 200
        lines = base.access_log(min_lines=before + 21)[before:]
        assert all(line.split("\t")[2] == "200" for line in lines), lines
        # nginx tried the dead one (at most) once, logged as a 502 followed by a live instance, then left it out.
        tried_dead = [line for line in lines if f"127.0.0.1:{killed.port}" in line.split("\t")[0]]
        assert len(tried_dead) <= 1, tried_dead
        for line in tried_dead:
            addresses, statuses = line.split("\t")[:2]
            assert addresses.startswith(f"127.0.0.1:{killed.port}, ") and statuses.startswith("502, "), line
        assert "Connection refused" in base.error_log_text() or not tried_dead


def test_a_restarted_instance_rejoins_after_the_fail_timeout(instances: list[PortServer]) -> None:
    ports = [server.port for server in instances]
    with nginx_round_robin(ports, fail_timeout_s=1) as base, httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        instances[2].kill()
        assert {int(http.get(base + "/who").text) for _ in range(6)} == set(ports[:2])
        instances[2] = PortServer(ports[2]).start()  # the same port again (SO_REUSEADDR), as a restart would
        restarted = time.monotonic()
        # Left out for fail_timeout to fail_timeout + 1 s (nginx counts whole seconds), then back in turn.
        while int(http.get(base + "/who").text) != ports[2]:
            assert time.monotonic() - restarted < 4.0, base.access_log()[-10:]
            time.sleep(0.1)
        assert {int(http.get(base + "/who").text) for _ in range(3)} == set(ports)


def test_nginx_passes_streams_on_unbuffered(instances: list[PortServer]) -> None:
    with nginx_round_robin([instances[0].port]) as base:
        started = time.monotonic()
        events: list[tuple[float, str]] = []
        with httpx2.stream("GET", base + "/stream", timeout=HTTP_TIMEOUT_S) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line:
                    events.append((time.monotonic() - started, line))
        assert [text for _, text in events] == ["data: first", "data: second"]
        assert events[0][0] < 0.7 <= events[1][0], events  # the first event did not wait for the second


def test_nginx_stops_with_its_context_and_leaves_nothing_behind(instances: list[PortServer]) -> None:
    with nginx_round_robin([server.port for server in instances]) as base:
        directory, port, process = base.directory, base.port, base.process
        assert httpx2.get(base + "/who", timeout=HTTP_TIMEOUT_S).status_code == 200
    assert process.poll() == 0  # SIGTERM: nginx's fast shutdown, exit 0
    assert not directory.exists()
    assert _refused(port)
