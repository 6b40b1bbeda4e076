"""[timeouts] Connections that never finish: idle ones, a request head sent one byte every 5 s,
a body sent one byte every 2 s, parser-level rejections (2000 headers, a 1 MiB request line)
and an oversized Content-Length. All run at once on one hub, each capped; the hub's open file
descriptors are sampled throughout.

"closed" is what the client sees (EOF or reset). For answered requests the probe also watches
the hub's end in /proc/net/tcp: a socket the hub answered and half-closed but still holds has a
non-zero inode ("held"); "released" is when it no longer does."""

from __future__ import annotations

import threading
import time

import httpio
from probes.common import spawn

NAME = "timeouts"
DESCRIPTION = "idle connections, slow head, slow body, malformed requests, oversized body: when does the hub let go"
BUDGET_S = 110

IDLE_CONNECTIONS = 200
IDLE_CHECKS_S = (10.0, 70.0)
SLOW_CAP_S = 70.0
MALFORMED_CAP_S = 30.0


def _status_and_body(data: bytes) -> tuple[str | None, int | None]:
    if not data:
        return None, None
    status = data.split(b"\r\n", 1)[0].decode("latin-1")
    head, sep, body = data.partition(b"\r\n\r\n")
    return status, (len(body) if sep else None)


def watch(hub, sock, cap: float, tick: tuple[float, bytes] | None = None) -> dict:
    """Follows one connection until the hub has closed it and released its socket, or `cap`.
    With `tick` = (interval, data), sends `data` every `interval` seconds meanwhile."""
    client_port = sock.getsockname()[1]
    started = time.monotonic()
    received = b""
    result = {"response_at": None, "closed_at": None, "released_at": None, "bytes_sent": 0, "send_error": None}
    next_tick = started + tick[0] if tick else None
    while True:
        now = time.monotonic()
        elapsed = now - started
        if elapsed >= cap:
            break
        closed, data = httpio.drain(sock)
        if data and result["response_at"] is None:
            result["response_at"] = round(elapsed, 2)
        received += data
        if closed and result["closed_at"] is None:
            result["closed_at"] = round(elapsed, 2)
        if result["response_at"] is not None or result["closed_at"] is not None:
            side = httpio.server_side_socket(hub.port, client_port)
            if (side is None or side[1] == 0) and result["released_at"] is None:
                result["released_at"] = round(elapsed, 2)
        if result["closed_at"] is not None and result["released_at"] is not None:
            break
        if next_tick is not None and now >= next_tick and result["closed_at"] is None:
            try:
                sock.sendall(tick[1])
                result["bytes_sent"] += len(tick[1])
            except OSError as error:
                result["send_error"] = f"{type(error).__name__} at {elapsed:.1f}s"
                result["closed_at"] = round(elapsed, 2)
            next_tick += tick[0]
        time.sleep(0.1)
    side = httpio.server_side_socket(hub.port, client_port)
    result["hub_side_at_end"] = "gone" if side is None else f"{side[0]}, {'held by hub' if side[1] else 'orphan'}"
    result["status"], result["body_bytes"] = _status_and_body(received)
    try:
        sock.close()
    except OSError:
        pass
    return result


def _send(hub, data: bytes, timeout: float = 10.0):
    sock = httpio.raw_connect(hub.port, timeout=timeout)
    try:
        sock.sendall(data)
    except OSError:
        pass  # the hub may stop reading (or reset) mid-way: watch() sees what follows
    return sock


def _idle(hub, out: dict) -> None:
    sockets = []
    give_up = time.monotonic() + 10.0  # a hub that stops accepting must not stall the probe
    for _ in range(IDLE_CONNECTIONS):
        if time.monotonic() > give_up:
            out["connect error"] = f"gave up opening after 10 s, {len(sockets)} open"
            break
        try:
            sockets.append(httpio.raw_connect(hub.port, timeout=5.0))
        except OSError as error:
            out["connect error"] = f"{type(error).__name__} after {len(sockets)}"
            break
    out["opened"] = len(sockets)
    opened_at = time.monotonic()
    closed = set()
    for check in IDLE_CHECKS_S:
        while time.monotonic() - opened_at < check:
            time.sleep(0.5)
            for index, sock in enumerate(sockets):
                if index not in closed and httpio.drain(sock)[0]:
                    closed.add(index)
        out[f"open after {check:g}s"] = len(sockets) - len(closed)
        out[f"hub fds at {check:g}s"] = hub.fd_count()
        if check == IDLE_CHECKS_S[0]:
            out["healthz with idle connections held s"] = httpio.healthz_seconds(hub.base, timeout=5.0)
    for sock in sockets:
        sock.close()


def run(context) -> dict:
    hub = context.hub("conns").start()
    baseline_fds = hub.fd_count()
    peak = {"fds": baseline_fds or 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            count = hub.fd_count()
            if count is not None:
                peak["fds"] = max(peak["fds"], count)
            stop.wait(0.5)

    results: dict[str, dict] = {}

    def job(name: str, fn) -> threading.Thread:
        def body() -> None:
            try:
                results[name] = fn()
            except Exception as error:  # noqa: BLE001
                results[name] = {"error": f"{type(error).__name__}: {error}"}
        return spawn(body, name=f"timeouts-{name}")

    idle: dict = {}
    threads = [spawn(sample, name="fd-sampler"), spawn(_idle, hub, idle, name="idle")]
    host = f"Host: 127.0.0.1:{hub.port}\r\n".encode()
    threads += [
        job("slow head", lambda: watch(hub, _send(hub, b"POST /mcp HTTP/1.1\r\n" + host + b"X-Slow: "),
                                       SLOW_CAP_S, tick=(5.0, b"a"))),
        job("slow body", lambda: watch(
            hub,
            _send(hub, b"POST /register HTTP/1.1\r\n" + host
                  + b"Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"),
            SLOW_CAP_S, tick=(2.0, b" "))),
        job("2000 headers", lambda: watch(
            hub, _send(hub, b"GET /healthz HTTP/1.1\r\n" + host
                       + b"".join(b"X-Filler-%d: v\r\n" % i for i in range(2000)) + b"\r\n"), MALFORMED_CAP_S)),
        job("1 MiB request line", lambda: watch(
            hub, _send(hub, b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\n" + host + b"\r\n"), MALFORMED_CAP_S)),
        job("Content-Length 50 MB on /mcp", lambda: watch(
            hub, _send(hub, b"POST /mcp HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\n"
                       b"Accept: application/json, text/event-stream\r\nContent-Length: 50000000\r\n\r\n"
                       + b"x" * 4096), MALFORMED_CAP_S)),
        job("Content-Length 50 MB on /register", lambda: watch(
            hub, _send(hub, b"POST /register HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\n"
                       b"Content-Length: 50000000\r\n\r\n" + b"x" * 4096), MALFORMED_CAP_S)),
    ]
    deadline = time.monotonic() + max(IDLE_CHECKS_S[-1], SLOW_CAP_S) + 8
    for thread in threads[1:]:
        thread.join(max(0.0, deadline - time.monotonic()))
    stop.set()
    m: dict = {}
    m["hub fds at start"] = baseline_fds
    m["hub fds peak"] = peak["fds"]
    m["idle: connections opened"] = idle.get("opened")
    for check in IDLE_CHECKS_S:
        m[f"idle: still open after {check:g} s"] = idle.get(f"open after {check:g}s")
        m[f"idle: hub fds at {check:g} s"] = idle.get(f"hub fds at {check:g}s")
    m["idle: /healthz with them held s"] = idle.get("healthz with idle connections held s")
    if "connect error" in idle:
        m["idle: connect error"] = idle["connect error"]

    def closed_text(r: dict, cap: float) -> str:
        return f"{r['closed_at']} s" if r.get("closed_at") is not None else f"open after {cap:g} s"

    for name, cap in (("slow head", SLOW_CAP_S), ("slow body", SLOW_CAP_S)):
        r = results.get(name, {"error": "did not finish"})
        if "error" in r:
            m[f"{name}: error"] = r["error"]
            continue
        m[f"{name}: closed by hub"] = closed_text(r, cap)
        m[f"{name}: bytes trickled"] = r["bytes_sent"]
        m[f"{name}: response"] = r["status"] or "none"
    for name in ("2000 headers", "1 MiB request line", "Content-Length 50 MB on /mcp",
                 "Content-Length 50 MB on /register"):
        r = results.get(name, {"error": "did not finish"})
        if "error" in r:
            m[f"{name}: error"] = r["error"]
            continue
        m[f"{name}: status"] = r["status"] or "none"
        m[f"{name}: body bytes"] = r["body_bytes"]
        m[f"{name}: closed (client sees EOF)"] = closed_text(r, MALFORMED_CAP_S)
        m[f"{name}: hub released its socket"] = (
            f"{r['released_at']} s" if r["released_at"] is not None else f"held after {MALFORMED_CAP_S:g} s"
        )
        m[f"{name}: hub's end at {MALFORMED_CAP_S:g} s"] = r["hub_side_at_end"]
    exit_s = hub.stop(grace=10.0)

    problems = []
    last = f"idle: still open after {IDLE_CHECKS_S[-1]:g} s"
    if m.get(last):
        problems.append(f"{m[last]}/{m['idle: connections opened']} idle connections held {IDLE_CHECKS_S[-1]:g} s")
    for name in ("slow head", "slow body"):
        if str(m.get(f"{name}: closed by hub", "")).startswith("open"):
            problems.append(f"{name} held {SLOW_CAP_S:g} s")
    held = [n for n in ("2000 headers", "1 MiB request line", "Content-Length 50 MB on /mcp",
                        "Content-Length 50 MB on /register")
            if str(m.get(f"{n}: hub released its socket", "")).startswith("held")
            or str(m.get(f"{n}: closed (client sees EOF)", "")).startswith("open")]
    if held:
        problems.append("answered but not let go: " + ", ".join(held))
    empty = [n for n in ("2000 headers", "1 MiB request line") if m.get(f"{n}: body bytes") == 0]
    if empty:
        problems.append("empty 400 body: " + ", ".join(empty))
    m["SIGTERM exit s (after closing everything)"] = exit_s
    return {"measurements": m, "verdict": "; ".join(problems) if problems else "every connection was let go in time"}
