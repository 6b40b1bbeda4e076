"""[refresh-fork] One refresh token presented by 20 threads at the same instant: how many 200s,
how many distinct successors, and how many of those successors still work (one refresh each).

If the burst freezes the hub (/healthz dead afterwards: the [freeze] bug), the fork itself was
not measured; the probe then repeats the burst on a fresh hub with 5 threads (below the freeze
threshold of 7 concurrent store reads) so the fork behaviour is still seen."""

from __future__ import annotations

import http.client
import threading

import httpio
import oauth
from probes.common import Tally, classify, spawn

NAME = "refresh-fork"
DESCRIPTION = "20 concurrent refreshes of one refresh token: successes, distinct successors, live successors"
BUDGET_S = 90

EMAIL = "owner@example.com"
PASSWORD = "correct horse battery"
CONCURRENT = 20
FALLBACK_CONCURRENT = 5
REQUEST_TIMEOUT_S = 10.0


def _burst(context, label: str, concurrent: int) -> dict:
    hub = context.hub(label)
    hub.add_user(EMAIL, PASSWORD)
    hub.start()
    client_id = oauth.register_client(hub.base)
    refresh_token = oauth.login(hub.base, client_id, EMAIL, PASSWORD, hub.mcp_url)["refresh_token"]

    barrier = threading.Barrier(concurrent)
    statuses = Tally()
    successors: list[str] = []
    lock = threading.Lock()

    def present() -> None:
        try:
            barrier.wait(timeout=10)
        except threading.BrokenBarrierError:
            pass
        try:
            response = oauth.refresh(hub.base, client_id, refresh_token, timeout=REQUEST_TIMEOUT_S)
        except (OSError, http.client.HTTPException) as error:
            statuses.add(classify(error))
            return
        statuses.add(response.status)
        if response.status == 200:
            with lock:
                successors.append(response.json().get("refresh_token"))

    threads = [spawn(present, name=f"refresh-{i}") for i in range(concurrent)]
    for thread in threads:
        thread.join(REQUEST_TIMEOUT_S + 12)
    healthz = httpio.healthz_seconds(hub.base, timeout=5.0)
    distinct = sorted({s for s in successors if s})
    working = 0
    successor_statuses = Tally()
    if healthz is not None:
        for successor in distinct:
            try:
                response = oauth.refresh(hub.base, client_id, successor)
                successor_statuses.add(response.status)
                working += response.status == 200
            except (OSError, http.client.HTTPException) as error:
                successor_statuses.add(classify(error))
    hub.stop()
    return {
        "statuses": statuses.snapshot(),
        "distinct": len(distinct),
        "working": working,
        "successor_statuses": successor_statuses.snapshot(),
        "healthz": healthz,
    }


def _record(m: dict, prefix: str, r: dict) -> None:
    m[f"{prefix}: 200 answers"] = r["statuses"].get(200, 0)
    m[f"{prefix}: statuses"] = {str(k): v for k, v in r["statuses"].items()}
    m[f"{prefix}: distinct refresh_token values returned"] = r["distinct"]
    m[f"{prefix}: successors that refresh again (one refresh each)"] = (
        r["working"] if r["healthz"] is not None else "not tried (hub frozen)")
    if r["successor_statuses"]:
        m[f"{prefix}: successor refresh statuses"] = {str(k): v for k, v in r["successor_statuses"].items()}
    m[f"{prefix}: /healthz afterwards"] = r["healthz"] if r["healthz"] is not None else "no answer in 5 s (frozen)"


def _fork_text(r: dict, n: int) -> str:
    if r["working"] > 1:
        return f"FORK: {n} concurrent refreshes → {r['distinct']} distinct successors, {r['working']} live"
    return f"no fork with {n} concurrent: {r['distinct']} distinct successor(s), {r['working']} live"


def run(context) -> dict:
    m: dict = {}
    main = _burst(context, "burst", CONCURRENT)
    _record(m, f"{CONCURRENT} concurrent", main)
    frozen = main["healthz"] is None
    if not frozen:
        return {"measurements": m, "verdict": _fork_text(main, CONCURRENT)}
    context.log(f"the {CONCURRENT}-way burst froze the hub; repeating with {FALLBACK_CONCURRENT} threads")
    fallback = _burst(context, "burst-small", FALLBACK_CONCURRENT)
    _record(m, f"{FALLBACK_CONCURRENT} concurrent (fresh hub)", fallback)
    verdict = (f"the {CONCURRENT}-way burst FROZE the hub after {main['statuses'].get(200, 0)} answer(s) "
               "(fork not measurable there); "
               + _fork_text(fallback, FALLBACK_CONCURRENT))
    return {"measurements": m, "verdict": verdict}
