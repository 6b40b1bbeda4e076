"""[shutdown] One client holds a half-sent request; SIGTERM: how long until the process exits.

Two hubs side by side (SIGTERMed at the same moment, so the probe costs one cap, not two):
  half head  - the client sent part of a request head (the brief's case);
  half body  - the client sent a complete head of POST /register (Content-Length: 100) and one
               byte of body, so a request is in flight when the signal arrives.
"""

from __future__ import annotations

import threading
import time

import httpio
from probes.common import spawn

NAME = "shutdown"
DESCRIPTION = "SIGTERM while one client holds a half-sent request (head; body): seconds until exit"
BUDGET_S = 100

EXIT_CAP_S = 70.0

CASES = {
    "half head": lambda port: f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: app".encode(),
    "half body": lambda port: (f"POST /register HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                               "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{").encode(),
}


def run(context) -> dict:
    setups = []
    for label, make in CASES.items():
        hub = context.hub(label.replace(" ", "-")).start()
        sock = httpio.raw_connect(hub.port, timeout=5.0)
        sock.sendall(make(hub.port))
        setups.append((label, hub, sock))
    time.sleep(0.5)
    outcomes: dict[str, dict] = {}
    lock = threading.Lock()

    def stop(label, hub, sock) -> None:
        healthz = httpio.healthz_seconds(hub.base, timeout=5.0)
        exit_s = hub.sigterm_exit_seconds(EXIT_CAP_S)
        closed, _ = httpio.drain(sock)
        sock.close()
        with lock:
            outcomes[label] = {"healthz": healthz, "exit_s": exit_s, "code": hub.process.returncode, "closed": closed}

    threads = [spawn(stop, *setup, name=f"shutdown-{setup[0]}") for setup in setups]
    for thread in threads:
        thread.join(EXIT_CAP_S + 20)
    m: dict = {}
    verdicts = []
    for label, _, _ in setups:
        o = outcomes.get(label)
        if o is None:
            m[f"{label}: error"] = "did not finish"
            continue
        m[f"{label}: /healthz before SIGTERM s"] = o["healthz"]
        m[f"{label}: seconds from SIGTERM to exit"] = (
            o["exit_s"] if o["exit_s"] is not None else f"still running after {EXIT_CAP_S:g} s (killed)"
        )
        if o["exit_s"] is None:
            m[f"{label}: exit code"] = "killed (-9) after the cap"
            verdicts.append(f"{label}: held hostage, no exit within {EXIT_CAP_S:g} s")
        elif o["code"] is not None and o["code"] < 0:
            m[f"{label}: exit code"] = f"killed by signal {-o['code']}"
            verdicts.append(f"{label}: killed by signal {-o['code']} (not by this probe's SIGTERM)")
        elif o["exit_s"] > 10:
            m[f"{label}: exit code"] = o["code"]
            verdicts.append(f"{label}: exit took {o['exit_s']:.1f} s (over 10 s)")
        else:
            m[f"{label}: exit code"] = o["code"]
            verdicts.append(f"{label}: exit in {o['exit_s']:.2f} s")
    return {"measurements": m, "verdict": "; ".join(verdicts)}
