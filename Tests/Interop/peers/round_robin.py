"""A load balancer for several Gatehouse instances: Debian's nginx (/usr/sbin/nginx, installed by
scripts/interop.sh) in front of 127.0.0.1 ports, round robin, no sticky sessions.

    with nginx_round_robin([port_a, port_b, port_c]) as base:
        httpx2.get(base + "/healthz")        # base is the str "http://127.0.0.1:PORT" (no trailing /)
        base.access_log()                    # ["127.0.0.1:A\\t200\\t200\\tGET\\t/healthz", ...]
        base.served_by()                     # [A, ...]: the upstream port that answered each request
        base.port, base.upstream_ports, base.directory, base.error_log_text()

What the configuration does (written to a temp dir that holds everything nginx writes: pid file,
error log, access log, temp paths; nginx runs in the foreground, `daemon off`, one worker):

  upstream        server 127.0.0.1:P for each port, the default round robin (weights equal, no
                  ip_hash/hash/sticky), keepalive 16 idle connections, HTTP/1.1 to the upstreams.
                  A failed server (connection refused, timeout, 502) is left out for 10 to 11 s
                  (max_fails=1 fail_timeout=10s, nginx's defaults, counted in whole seconds;
                  fail_timeout_s= changes it), then tried again with live requests.
  next upstream   proxy_next_upstream error timeout http_502: a request that finds its server dead
                  goes on to the next one. nginx never retries a POST/PATCH/LOCK once it has been
                  sent (no non_idempotent): a server killed mid-request gives that request a 502.
  streaming       proxy_buffering off, proxy_cache off (SSE events pass at once), read/send
                  timeouts 1 h, client_max_body_size 2m (as deploy/nginx-gatehouse.conf).
  headers         Host: the client's Host header as sent (host:port, $http_host), X-Forwarded-Proto
                  ($scheme, http here), X-Forwarded-For; Connection cleared for keepalive.
  access log      one line per request, tab-separated: $upstream_addr, $upstream_status, $status,
                  $request_method, $request_uri. When nginx tried several servers the first two
                  fields list them all, comma-separated ("127.0.0.1:A, 127.0.0.1:B", "502, 200").
  readiness       GET /.round-robin-ready answers 200 from nginx itself (not logged); it is what
                  the start waits for, so the upstreams need not be up yet.

Start and stop are bounded (STARTUP_TIMEOUT_S; SIGTERM, SIGKILL after 5 s). nginx writes an access
log line after the response has gone out: access_log(min_lines=N) waits (at most 5 s) for N lines.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import httpx2

from conftest import _RUNNING, free_port, terminate

NGINX = "/usr/sbin/nginx"
STARTUP_TIMEOUT_S = 10.0
FAIL_TIMEOUT_S = 10
LOG_WAIT_S = 5.0
READY_PATH = "/.round-robin-ready"
# Times the start is tried again on another port when the one picked was taken meanwhile.
PORT_ATTEMPTS = 3


class RoundRobin(str):
    """The balancer's base URL (a str, "http://127.0.0.1:PORT") with its logs."""

    port: int
    upstream_ports: list[int]
    directory: Path
    process: subprocess.Popen[bytes]

    def __new__(cls, port: int, upstream_ports: Sequence[int], directory: Path, process: subprocess.Popen[bytes]) -> "RoundRobin":
        url = super().__new__(cls, f"http://127.0.0.1:{port}")
        url.port = port
        url.upstream_ports = list(upstream_ports)
        url.directory = directory
        url.process = process
        return url

    @property
    def base_url(self) -> str:
        return str.__str__(self)

    def access_log(self, min_lines: int = 0, timeout_s: float = LOG_WAIT_S) -> list[str]:
        """The access log's lines so far (see the module docstring for the fields), after waiting at
        most `timeout_s` for there to be at least `min_lines`."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                lines = (self.directory / "access.log").read_text(errors="replace").splitlines()
            except FileNotFoundError:
                lines = []
            if len(lines) >= min_lines or time.monotonic() >= deadline:
                return lines
            time.sleep(0.02)

    def served_by(self, min_lines: int = 0, timeout_s: float = LOG_WAIT_S) -> list[int | None]:
        """For each logged request, the port of the last upstream nginx tried (the one that answered,
        unless every try failed); None when nginx reached none (e.g. all were marked down)."""
        ports: list[int | None] = []
        for line in self.access_log(min_lines, timeout_s):
            last = line.split("\t", 1)[0].split(",")[-1].strip()
            match = re.fullmatch(r"127\.0\.0\.1:(\d+)", last)
            ports.append(int(match.group(1)) if match else None)
        return ports

    def error_log_text(self) -> str:
        try:
            return (self.directory / "error.log").read_text(errors="replace")
        except OSError as error:
            return f"<could not read the error log: {error}>"

    def log_text(self) -> str:  # attached to failing tests' reports (conftest), like the servers' output
        return "--- error.log ---\n" + self.error_log_text() + "\n--- access.log ---\n" + "\n".join(self.access_log())

    @property
    def name(self) -> str:
        return f"nginx round robin {self.port}"


def _config(directory: Path, port: int, upstream_ports: Sequence[int], fail_timeout_s: int) -> str:
    servers = "\n".join(f"        server 127.0.0.1:{upstream} max_fails=1 fail_timeout={fail_timeout_s}s;" for upstream in upstream_ports)
    d = directory
    return f"""# peers/round_robin.py: a throwaway load balancer; everything it writes is under {d}
daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log notice;

events {{
    worker_connections 512;
}}

http {{
    log_format balanced "$upstream_addr\\t$upstream_status\\t$status\\t$request_method\\t$request_uri";
    access_log {d}/access.log balanced;

    client_body_temp_path {d}/temp/body;
    proxy_temp_path {d}/temp/proxy;
    fastcgi_temp_path {d}/temp/fastcgi;
    uwsgi_temp_path {d}/temp/uwsgi;
    scgi_temp_path {d}/temp/scgi;

    upstream instances {{
        # Round robin (nginx's default balancing), no session affinity.
{servers}
        keepalive 16;
    }}

    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 2m;

        location = {READY_PATH} {{
            access_log off;
            return 200 "ready\\n";
        }}

        location / {{
            proxy_pass http://instances;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout http_502;
            proxy_connect_timeout 2s;
            proxy_buffering off;
            proxy_cache off;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
        }}
    }}
}}
"""


class _PortTaken(RuntimeError):
    pass


def _start(directory: Path, upstream_ports: Sequence[int], fail_timeout_s: int, timeout_s: float) -> RoundRobin:
    """One attempt on one port; raises _PortTaken or RuntimeError."""
    port = free_port()
    config = directory / "nginx.conf"
    config.write_text(_config(directory, port, upstream_ports, fail_timeout_s))
    for name in ("access.log", "error.log"):
        (directory / name).unlink(missing_ok=True)
    argv = [NGINX, "-p", f"{directory}/", "-c", str(config), "-e", str(directory / "error.log")]
    checked = subprocess.run([*argv, "-t", "-q"], capture_output=True, text=True, timeout=timeout_s)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t refused the configuration:\n{checked.stderr}\n--- nginx.conf ---\n{config.read_text()}")
    with open(directory / "nginx.out", "ab") as output:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, cwd=directory)
    balancer = RoundRobin(port, upstream_ports, directory, process)
    deadline = time.monotonic() + timeout_s
    last_error = "no attempt made"
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            text = balancer.error_log_text()
            if "Address already in use" in text:
                raise _PortTaken(text)
            raise RuntimeError(f"nginx exited with code {code} during start-up.\n{text}")
        try:
            response = httpx2.get(balancer + READY_PATH, timeout=1.0)
            if response.status_code == 200 and response.text == "ready\n":
                return balancer
            last_error = f"HTTP {response.status_code}: {response.text[:200]!r}"
        except httpx2.HTTPError as error:
            last_error = repr(error)
        time.sleep(0.05)
    terminate(process)
    raise RuntimeError(f"nginx did not answer on {balancer} within {timeout_s:.0f} s (last: {last_error}).\n"
                       f"{balancer.error_log_text()}")


@contextmanager
def nginx_round_robin(
    upstream_ports: Sequence[int], *, fail_timeout_s: int = FAIL_TIMEOUT_S, startup_timeout_s: float = STARTUP_TIMEOUT_S
) -> Iterator[RoundRobin]:
    """Starts nginx on a free 127.0.0.1 port balancing round robin over 127.0.0.1:`upstream_ports`,
    waits until it answers (the upstreams may be down), yields its base URL (a RoundRobin, a str)
    and stops it at exit (SIGTERM: nginx's fast shutdown, open streams cut; SIGKILL after 5 s), also
    when the body raised. Raises RuntimeError, with nginx's error log, when it does not come up.

    fail_timeout_s  how long an instance that failed once is left out (nginx's fail_timeout, whole
                    seconds, at least 1; its default, 10 s, here too). Lower it for a test that restarts an instance on the
                    same port and wants it back in the rotation soon."""
    if not isinstance(fail_timeout_s, int) or fail_timeout_s < 1:
        raise ValueError(f"fail_timeout_s is a whole number of seconds, at least 1 (nginx allows no less): {fail_timeout_s!r}")
    if not upstream_ports:
        raise ValueError("nginx_round_robin needs at least one upstream port")
    if not os.access(NGINX, os.X_OK):
        raise RuntimeError(f"{NGINX} is missing: scripts/interop.sh installs Debian's nginx package")
    directory = Path(tempfile.mkdtemp(prefix="round-robin-"))
    # As root nginx's worker runs as `nobody`; it creates the temp paths it is given (owned by it) and
    # must be able to reach them.
    directory.chmod(0o711)
    (directory / "temp").mkdir()
    balancer: RoundRobin | None = None
    try:
        for attempt in range(PORT_ATTEMPTS):
            try:
                balancer = _start(directory, upstream_ports, fail_timeout_s, startup_timeout_s)
                break
            except _PortTaken:
                if attempt == PORT_ATTEMPTS - 1:
                    raise RuntimeError(f"nginx found its port taken {PORT_ATTEMPTS} times.\n"
                                       f"{(directory / 'error.log').read_text(errors='replace')}") from None
        assert balancer is not None
        _RUNNING.append(balancer)  # type: ignore[arg-type]  # duck-typed: name and log_text()
        yield balancer
    finally:
        if balancer is not None:
            if balancer in _RUNNING:
                _RUNNING.remove(balancer)  # type: ignore[arg-type]
            terminate(balancer.process)
        shutil.rmtree(directory, ignore_errors=True)
