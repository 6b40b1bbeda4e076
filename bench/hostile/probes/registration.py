"""[registration] 30 clients on 30 loopback addresses (127.0.0.2 ... 127.0.0.31; Linux routes all
of 127/8 to lo) register OAuth clients as fast as they can. Every 0.25 s a client on an address
that never registered before (127.0.0.200 first, then 127.0.1.1, 127.0.1.2, ...) tries once: how
long until such a newcomer is refused with 429, and how many registrations succeeded."""

from __future__ import annotations

import http.client
import threading
import time

import oauth
from probes.common import Tally, classify, spawn

NAME = "registration"
DESCRIPTION = "30 addresses register as fast as they can: when is a new address locked out"
BUDGET_S = 45

ATTACKERS = 30
CAP_S = 10.0
AFTER_REFUSAL_S = 1.0
CHECK_EVERY_S = 0.25


def _newcomers():
    yield "127.0.0.200"
    for third in range(1, 255):
        for fourth in range(1, 255):
            yield f"127.0.{third}.{fourth}"


def run(context) -> dict:
    hub = context.hub("register").start()
    attacker_statuses = Tally()
    first_attacker_429: list[float] = []
    stop = threading.Event()
    lock = threading.Lock()
    started = time.monotonic()

    def attack(address: str) -> None:
        while not stop.is_set():
            try:
                status = oauth.register(hub.base, source=address, timeout=5.0).status
            except (OSError, http.client.HTTPException) as error:
                status = classify(error)
            attacker_statuses.add(status)
            if status == 429:
                with lock:
                    if not first_attacker_429:
                        first_attacker_429.append(time.monotonic() - started)

    attackers = [spawn(attack, f"127.0.0.{i}", name=f"register-{i}") for i in range(2, 2 + ATTACKERS)]
    newcomers = _newcomers()
    newcomer_statuses = Tally()
    refused_at = None
    refused_address = None
    retry_after = None
    tried = 0
    deadline = started + CAP_S
    while time.monotonic() < deadline:
        address = next(newcomers)
        tried += 1
        try:
            response = oauth.register(hub.base, source=address, timeout=5.0)
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            status, response = classify(error), None
        newcomer_statuses.add(status)
        if status == 429 and refused_at is None:
            refused_at = time.monotonic() - started
            refused_address = address
            retry_after = response.headers.get("retry-after") if response else None
            deadline = min(deadline, time.monotonic() + AFTER_REFUSAL_S)
        time.sleep(CHECK_EVERY_S)
    stop.set()
    for thread in attackers:
        thread.join(6)
    elapsed = time.monotonic() - started
    hub.stop()

    attacks = attacker_statuses.snapshot()
    arrivals = newcomer_statuses.snapshot()
    successes = attacks.get(201, 0) + arrivals.get(201, 0)
    m = {
        "seconds run": round(elapsed, 1),
        "registrations that succeeded (201), all addresses": successes,
        f"{ATTACKERS} attacking addresses: statuses": {str(k): v for k, v in attacks.items()},
        "first 429 to an attacker at s": round(first_attacker_429[0], 2) if first_attacker_429 else None,
        "new addresses tried": tried,
        "new addresses: statuses": {str(k): v for k, v in arrivals.items()},
        "a never-seen address is refused (429) after s": (
            round(refused_at, 2) if refused_at is not None else f"never within {CAP_S:g} s"),
        "first refused new address": refused_address,
        "Retry-After given to it": retry_after,
    }
    verdict = (
        f"{ATTACKERS} addresses locked out every newcomer after {refused_at:.2f} s ({successes} registrations)"
        if refused_at is not None
        else f"newcomers still registered after {CAP_S:g} s ({successes} registrations)"
    )
    return {"measurements": m, "verdict": verdict}
