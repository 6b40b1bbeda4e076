"""[freeze] 16 concurrent unauthenticated requests to GET /authorize (then, on a fresh hub, to
POST /token) for 5 s: how many are answered, does /healthz still answer afterwards, does SIGTERM
still stop the process within 10 s."""

from __future__ import annotations

import http.client
import threading
import time

import httpio
import oauth
from probes.common import classify, flood

NAME = "freeze"
DESCRIPTION = "16 threads on GET /authorize, then on POST /token (fresh hub), 5 s each; /healthz and SIGTERM afterwards"
BUDGET_S = 90

THREADS = 16
FLOOD_S = 5.0
REQUEST_TIMEOUT_S = 2.0
HEALTHZ_TIMEOUT_S = 5.0
SIGTERM_CAP_S = 10.0


def _phase(context, label: str, make_worker) -> dict:
    hub = context.hub(label).start()
    client_id = oauth.register_client(hub.base)
    first_answer: list[float] = []
    last_answer: list[float] = []
    lock = threading.Lock()
    started = time.monotonic()
    request = make_worker(hub, client_id)

    def worker():
        try:
            status = request()
        except (OSError, http.client.HTTPException) as error:
            return classify(error)
        now = time.monotonic() - started
        with lock:
            if not first_answer:
                first_answer.append(now)
            last_answer[:] = [max(last_answer[0], now) if last_answer else now]
        return status

    tally, _ = flood(worker, THREADS, FLOOD_S, join_cap=REQUEST_TIMEOUT_S + 2)
    counts = tally.snapshot()
    answered = sum(n for key, n in counts.items() if isinstance(key, int))
    failed = sum(n for key, n in counts.items() if not isinstance(key, int))
    healthz = httpio.healthz_seconds(hub.base, timeout=HEALTHZ_TIMEOUT_S)
    fds = hub.fd_count()
    exit_s = hub.sigterm_exit_seconds(SIGTERM_CAP_S)
    context.log(f"{label}: answered {answered}, failed {failed}, healthz {healthz}, SIGTERM exit {exit_s}")
    return {
        "answered": answered,
        "failed": failed,
        "statuses": {str(k): v for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))},
        "last_answer_s": round(last_answer[0], 2) if last_answer else None,
        "healthz": healthz,
        "fds": fds,
        "exit_s": exit_s,
    }


def _authorize(hub, client_id):
    def send() -> int:
        path = oauth.authorize_path(client_id, oauth.new_verifier(), hub.mcp_url)
        return httpio.get(hub.base, path, timeout=REQUEST_TIMEOUT_S).status

    return send


def _token(hub, client_id):
    def send() -> int:
        form = {
            "grant_type": "authorization_code",
            "client_id": client_id,
            "code": "bogus",
            "code_verifier": "a" * 43,
        }
        return httpio.post_form(hub.base, "/token", form, timeout=REQUEST_TIMEOUT_S).status

    return send


def run(context) -> dict:
    measurements: dict = {}
    frozen: list[str] = []
    for label, path, make in (("authorize", "GET /authorize", _authorize), ("token", "POST /token", _token)):
        result = _phase(context, label, make)
        prefix = f"{path} ×{THREADS} {FLOOD_S:g}s:"
        measurements[f"{prefix} answered"] = result["answered"]
        measurements[f"{prefix} failed (timeout {REQUEST_TIMEOUT_S:g}s / error)"] = result["failed"]
        measurements[f"{prefix} statuses"] = result["statuses"]
        measurements[f"{prefix} last answer at s"] = result["last_answer_s"]
        measurements[f"{prefix} /healthz afterwards s"] = (
            result["healthz"] if result["healthz"] is not None else f"no answer in {HEALTHZ_TIMEOUT_S:g} s"
        )
        measurements[f"{prefix} SIGTERM exit s"] = (
            result["exit_s"] if result["exit_s"] is not None else f"still running after {SIGTERM_CAP_S:g} s (killed)"
        )
        if result["healthz"] is None or result["exit_s"] is None:
            frozen.append(path)
    verdict = (
        f"FROZEN by {' and '.join(frozen)}: /healthz dead and/or SIGTERM ignored"
        if frozen
        else "no freeze: the hub answered and stopped on SIGTERM after both floods"
    )
    return {"measurements": measurements, "verdict": verdict}
