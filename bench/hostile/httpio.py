"""Small HTTP/1.1 helpers over http.client, every call bounded by a socket timeout.

One connection per request (Connection: close), optionally bound to a chosen loopback
source address, so probes can look like many different clients.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "
    set_cookies: list[str] = field(default_factory=list)
    body: bytes = b""
    seconds: float = 0.0

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


def request(
    base: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
    source: str | None = None,
) -> Response:
    """One request to `base` (http://127.0.0.1:PORT). Raises OSError / http.client errors
    (socket.timeout included) when the server does not answer in time."""
    url = urlsplit(base)
    connection = http.client.HTTPConnection(
        url.hostname, url.port, timeout=timeout, source_address=(source, 0) if source else None
    )
    started = time.monotonic()
    try:
        all_headers = {"Connection": "close", **(headers or {})}
        connection.request(method, path, body=body, headers=all_headers)
        raw = connection.getresponse()
        data = raw.read()
        merged: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in raw.getheaders():
            key = name.lower()
            if key == "set-cookie":
                cookies.append(value)
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        return Response(raw.status, merged, cookies, data, time.monotonic() - started)
    finally:
        connection.close()


def get(base: str, path: str, **kw) -> Response:
    return request(base, "GET", path, **kw)


def post_form(base: str, path: str, form: dict[str, str], headers: dict[str, str] | None = None, **kw) -> Response:
    return request(
        base,
        "POST",
        path,
        body=urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        **kw,
    )


def post_json(base: str, path: str, value, headers: dict[str, str] | None = None, **kw) -> Response:
    return request(
        base,
        "POST",
        path,
        body=json.dumps(value).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        **kw,
    )


def healthz_seconds(base: str, timeout: float = 5.0) -> float | None:
    """Seconds GET /healthz took to answer 200, or None if it did not within `timeout`."""
    try:
        response = get(base, "/healthz", timeout=timeout)
    except (OSError, http.client.HTTPException):
        return None
    return round(response.seconds, 4) if response.status == 200 else None


def raw_connect(port: int, timeout: float = 5.0, source: str | None = None) -> socket.socket:
    """A plain TCP connection to 127.0.0.1:port (for probes that speak HTTP by hand)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0) if source else None)
    sock.settimeout(timeout)
    return sock


def drain(sock: socket.socket) -> tuple[bool, bytes]:
    """Non-blocking: reads whatever the server sent so far and tells whether it has closed
    the connection (EOF or a socket error). Returns (closed, bytes read now)."""
    received = b""
    previous = sock.gettimeout()
    # A socket with a timeout would first wait up to that long for data (and then raise a
    # timeout, which is no close): look without waiting at all.
    sock.settimeout(0.0)
    try:
        while True:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return False, received
            except OSError:
                return True, received
            if data == b"":
                return True, received
            received += data
    finally:
        try:
            sock.settimeout(previous)
        except OSError:
            pass


def server_side_socket(server_port: int, client_port: int) -> tuple[str, int] | None:
    """The server's end of the loopback connection server_port <-> client_port as the kernel
    sees it (/proc/net/tcp): (TCP state, socket inode), or None when it is gone. Inode 0 means
    no process holds the socket any more (an orphan the kernel finishes on its own); a
    non-zero inode means the server still has it open, e.g. half-closed after a 400."""
    states = {"01": "ESTABLISHED", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE",
              "08": "CLOSE_WAIT", "09": "LAST_ACK", "0B": "CLOSING"}
    try:
        with open("/proc/net/tcp") as table:
            next(table)
            for line in table:
                fields = line.split()
                local_port = int(fields[1].split(":")[1], 16)
                remote_port = int(fields[2].split(":")[1], 16)
                if local_port == server_port and remote_port == client_port:
                    return states.get(fields[3], fields[3]), int(fields[9])
    except OSError:
        return None
    return None
