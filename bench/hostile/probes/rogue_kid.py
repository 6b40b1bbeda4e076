"""[rogue-kid] A hub that trusts a JWT issuer (MCP_JWT_ISSUER) run by the harness. After one token
naming an unknown kid, the issuer rotates to a new key B: how long until a B-signed token is
accepted. Then, on a fresh hub, 4 threads spray tokens with random kids while the issuer rotates
to key C: how long until a C-signed token is accepted, and how often the hub fetched the JWKS."""

from __future__ import annotations

import http.client
import secrets
import threading
import time

import jose
import oauth
from issuer import Issuer
from probes.common import Tally, classify, spawn

NAME = "rogue-kid"
DESCRIPTION = "time until a rotated key is accepted after one unknown kid, and under a random-kid flood"
BUDGET_S = 90

ACCEPT_CAP_S = 20.0
RETRY_S = 0.25
FLOODERS = 4
FLOOD_HEAD_START_S = 1.0
FLOOD_MIN_S = 10.0


def _call(hub, token: str):
    try:
        return oauth.call_add(hub.base, token, timeout=5.0).status
    except (OSError, http.client.HTTPException) as error:
        return classify(error)


def _token(issuer: Issuer, hub, key: jose.ES256Key, kid: str | None = None) -> str:
    return key.sign(jose.claims(issuer.url, hub.mcp_url), kid=kid)


def _time_until_accepted(issuer: Issuer, hub, key: jose.ES256Key) -> tuple[float | None, int, dict]:
    started = time.monotonic()
    attempts = 0
    statuses = Tally()
    while time.monotonic() - started < ACCEPT_CAP_S:
        attempts += 1
        status = _call(hub, _token(issuer, hub, key))
        statuses.add(status)
        if status == 200:
            return round(time.monotonic() - started, 2), attempts, statuses.snapshot()
        time.sleep(RETRY_S)
    return None, attempts, statuses.snapshot()


def run(context) -> dict:
    if not jose.available():
        return {"measurements": {}, "verdict": "NOT MEASURED: the cryptography package is missing (see README)"}
    issuer = Issuer().start()
    m: dict = {}
    try:
        key_a, key_b, key_c = jose.ES256Key(), jose.ES256Key(), jose.ES256Key()
        issuer.publish(key_a)

        # Phase 1: one rogue kid, then a real rotation.
        hub = context.hub("jwt", env={"MCP_JWT_ISSUER": issuer.url}).start()
        m["token signed by A: status"] = _call(hub, _token(issuer, hub, key_a))
        before = time.monotonic()
        m["one token with an unknown kid: status"] = _call(hub, _token(issuer, hub, key_a, kid="rogue-" + secrets.token_hex(8)))
        issuer.publish(key_a, key_b)
        seconds, attempts, statuses = _time_until_accepted(issuer, hub, key_b)
        m["after one unknown kid, rotate to B: seconds until B accepted"] = (
            seconds if seconds is not None else f"not accepted within {ACCEPT_CAP_S:g} s")
        m["B attempts (statuses)"] = f"{attempts} ({', '.join(f'{k}: {v}' for k, v in statuses.items())})"
        m["JWKS fetches during phase 1"] = issuer.fetches_between(before, time.monotonic())
        hub.stop()

        # Phase 2: a fresh hub, a random-kid flood, a rotation to C in the middle of it.
        issuer.publish(key_a, key_b)
        hub = context.hub("jwt-flood", env={"MCP_JWT_ISSUER": issuer.url}).start()
        m["flood hub: token signed by A: status"] = _call(hub, _token(issuer, hub, key_a))
        stop = threading.Event()
        flood_statuses = Tally()

        def spray() -> None:
            while not stop.is_set():
                flood_statuses.add(_call(hub, _token(issuer, hub, key_a, kid="rogue-" + secrets.token_hex(8))))

        flood_started = time.monotonic()
        sprayers = [spawn(spray, name=f"spray-{i}") for i in range(FLOODERS)]
        time.sleep(FLOOD_HEAD_START_S)
        issuer.publish(key_a, key_b, key_c)
        seconds, attempts, statuses = _time_until_accepted(issuer, hub, key_c)
        remaining = FLOOD_MIN_S - (time.monotonic() - flood_started)
        if remaining > 0:
            time.sleep(remaining)
        stop.set()
        for thread in sprayers:
            thread.join(7)
        flood_s = time.monotonic() - flood_started
        fetches = issuer.fetches_between(flood_started, time.monotonic())
        m[f"under a {FLOODERS}-thread random-kid flood, rotate to C: seconds until C accepted"] = (
            seconds if seconds is not None else f"not accepted within {ACCEPT_CAP_S:g} s")
        m["C attempts (statuses)"] = f"{attempts} ({', '.join(f'{k}: {v}' for k, v in statuses.items())})"
        counts = flood_statuses.snapshot()
        m["flood seconds"] = round(flood_s, 1)
        m["flood requests (statuses)"] = f"{sum(counts.values())} ({', '.join(f'{k}: {v}' for k, v in counts.items())})"
        m["JWKS fetches during the flood"] = fetches
        m["JWKS fetches per second during the flood"] = round(fetches / flood_s, 2)
        hub.stop()
    finally:
        issuer.stop()

    b = m["after one unknown kid, rotate to B: seconds until B accepted"]
    c = m[f"under a {FLOODERS}-thread random-kid flood, rotate to C: seconds until C accepted"]
    verdict = (f"rotation accepted after {b if isinstance(b, str) else f'{b} s'} following one rogue kid, "
               f"{c if isinstance(c, str) else f'{c} s'} under the flood; "
               f"{m['JWKS fetches per second during the flood']} JWKS fetches/s during the flood")
    return {"measurements": m, "verdict": verdict}
