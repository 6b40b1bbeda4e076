"""[brute-force] Wrong passwords on the sign-in form from 4 threads for 20 s (a new sign-in page
whenever the current one stops being accepted): wrong-password answers per minute and the
statuses seen; whether the right password still works afterwards (and, when it is locked out,
once the lockout has passed: the hub runs with GATEHOUSE_SIGN_IN_LOCKOUT=30); and the latency of
an authenticated tools/call at rest and while the guessers run."""

from __future__ import annotations

import http.client
import re
import time

import httpio
import oauth
from probes.common import Tally, classify, median_ms, p90_ms, spawn

NAME = "brute-force"
DESCRIPTION = "4 threads guessing passwords for 20 s; tools/call latency at rest and under the guessing"
BUDGET_S = 120

EMAIL = "victim@example.com"
PASSWORD = "correct horse battery"
GUESSERS = 4
GUESS_S = 20.0
CALLS = 50
REQUEST_TIMEOUT_S = 10.0
LOCKOUT_S = 30


def _latencies(hub, token: str, count: int, until: float | None = None) -> tuple[list[float], Tally]:
    samples: list[float] = []
    statuses = Tally()
    for _ in range(count):
        if until is not None and time.monotonic() >= until:
            break
        started = time.monotonic()
        try:
            response = oauth.call_add(hub.base, token, timeout=REQUEST_TIMEOUT_S)
            statuses.add(response.status)
            if response.status == 200:
                samples.append(time.monotonic() - started)
        except (OSError, http.client.HTTPException) as error:
            statuses.add(classify(error))
    return samples, statuses


def run(context) -> dict:
    # A short lockout (a binary without throttling ignores the variable), so the probe can wait
    # it out and show that the owner's password works after it.
    hub = context.hub("signin", process_env={"GATEHOUSE_SIGN_IN_LOCKOUT": str(LOCKOUT_S)})
    hub.add_user(EMAIL, PASSWORD)
    hub.start()
    client_id = oauth.register_client(hub.base)
    token = oauth.login(hub.base, client_id, EMAIL, PASSWORD, hub.mcp_url)["access_token"]
    oauth.call_add(hub.base, token)  # warm-up (first call records the user)
    rest, rest_statuses = _latencies(hub, token, CALLS)
    context.log(f"tools/call at rest: median {median_ms(rest)} ms")

    posts = Tally()      # status of each POST /authorize with a wrong password
    pages = Tally()      # status of each GET /authorize for a new page
    messages = Tally()   # the problem text of non-401 answers (lockout pages and the like)
    stop_at = time.monotonic() + GUESS_S

    def guesser(index: int) -> None:
        page = None
        attempt = 0
        while time.monotonic() < stop_at:
            if page is None:
                try:
                    page = oauth.open_page(hub.base, client_id, hub.mcp_url, timeout=REQUEST_TIMEOUT_S)
                    pages.add(200)
                except RuntimeError as error:
                    pages.add(str(error).split(" ", 4)[3] if "HTTP" in str(error) else "error")
                    time.sleep(0.2)
                    continue
                except (OSError, http.client.HTTPException) as error:
                    pages.add(classify(error))
                    continue
            attempt += 1
            try:
                answer = oauth.submit(hub.base, page, EMAIL, f"wrong guess {index}-{attempt}", timeout=REQUEST_TIMEOUT_S)
            except (OSError, http.client.HTTPException) as error:
                posts.add(classify(error))
                page = None
                continue
            posts.add(answer.status)
            if answer.status == 401 and oauth.hidden_fields(answer.text()):
                continue  # same page, try again
            if answer.status not in (401, 303):
                problem = re.search(r'class="problem"[^>]*>([^<]{0,120})', answer.text())
                # Counted by kind: the seconds in "wait 4 seconds" become N.
                text = problem.group(1).strip() if problem else answer.text()[:80]
                messages.add(f"{answer.status}: {re.sub(r'[0-9]+', 'N', text)}")
            page = None

    started = time.monotonic()
    threads = [spawn(guesser, i, name=f"guesser-{i}") for i in range(GUESSERS)]
    time.sleep(2.0)  # let the guessing reach its pace
    loaded, loaded_statuses = _latencies(hub, token, CALLS, until=stop_at)
    for thread in threads:
        thread.join(max(0.0, stop_at - time.monotonic()) + REQUEST_TIMEOUT_S + 2)
    elapsed = time.monotonic() - started
    post_counts = posts.snapshot()
    # Each 401 (wrong password, same page) and each 303 (access_denied after the page's 5th
    # wrong password) is one wrong password the hub checked.
    wrong = post_counts.get(401, 0) + post_counts.get(303, 0)

    # The owner, right after the attack, on a fresh page; if locked out, again once the
    # Retry-After has passed.
    def owner_signs_in() -> tuple[str, str | None]:
        try:
            page = oauth.open_page(hub.base, client_id, hub.mcp_url, timeout=REQUEST_TIMEOUT_S)
            answer = oauth.submit(hub.base, page, EMAIL, PASSWORD, timeout=REQUEST_TIMEOUT_S)
            params = oauth.redirect_params(answer) or {}
            if "code" in params:
                return "works (code issued)", None
            return f"refused: HTTP {answer.status} {params.get('error', '')}".strip(), answer.headers.get("retry-after")
        except (RuntimeError, OSError, http.client.HTTPException) as error:
            return f"refused: {error}"[:160], None

    correct, retry_after = owner_signs_in()
    after_lockout = "not needed"
    if retry_after and int(retry_after) <= LOCKOUT_S:
        time.sleep(int(retry_after) + 0.5)
        after_lockout, _ = owner_signs_in()

    m = {
        "guessing seconds": round(elapsed, 1),
        "wrong passwords checked (401 + 303 access_denied)": wrong,
        "wrong-password answers per minute": round(wrong / elapsed * 60),
        "POST /authorize statuses": {str(k): v for k, v in sorted(post_counts.items(), key=lambda kv: str(kv[0]))},
        "sign-in pages fetched (GET /authorize statuses)": {str(k): v for k, v in pages.snapshot().items()},
        "other answers seen": messages.snapshot() or "none",
        "right password on a fresh page afterwards": correct,
        "right password once its Retry-After has passed": after_lockout,
        "tools/call median ms at rest": median_ms(rest),
        "tools/call p90 ms at rest": p90_ms(rest),
        f"tools/call median ms under {GUESSERS} guessers": median_ms(loaded),
        f"tools/call p90 ms under {GUESSERS} guessers": p90_ms(loaded),
        "tools/call samples at rest / under load": f"{len(rest)} / {len(loaded)}",
    }
    if set(rest_statuses.snapshot()) != {200} or set(loaded_statuses.snapshot()) - {200}:
        m["tools/call statuses at rest / under load"] = f"{rest_statuses.snapshot()} / {loaded_statuses.snapshot()}"
    hub.stop()
    throttled = post_counts.get(429, 0) > 0 or any("429" in str(k) for k in pages.snapshot())
    verdict = (
        f"{m['wrong-password answers per minute']} wrong passwords/min accepted for checking"
        + ("" if throttled else ", never throttled")
        + f"; tools/call {m['tools/call median ms at rest']} → {m[f'tools/call median ms under {GUESSERS} guessers']} ms"
        + f"; right password afterwards: {correct}"
        + ("" if after_lockout == "not needed" else f", after the lockout: {after_lockout}")
    )
    return {"measurements": m, "verdict": verdict}
