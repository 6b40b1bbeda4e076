"""The login and refresh load: worker threads speaking raw HTTP to the hub's embedded authorization server.

Each worker registers one public client (RFC 7591, once) and keeps one keep-alive connection. A login is the whole
authorization code flow without a browser: GET /authorize with a fresh PKCE pair (the hub runs with
--dev-auto-approve, so the answer is a 303 to the redirect URI with the code), then POST /token with the code and
the verifier, which must answer 200 with an access and a refresh token. A rotation is POST /token
grant_type=refresh_token with the worker's latest refresh token, which must answer 200 with the next one.

Latency is what the client saw for the whole operation (both requests of a login), Python included. The workers run
in this process (pinned to the client's CPU), so their CPU time is this process's.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import resource
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"
"""Never contacted: the 303's Location is read, not followed."""

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


class StepFailed(Exception):
    """One request of an operation answered wrongly; `key` names the step and what it got (for the error counts)."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(f"{key}: {detail}")
        self.key = key
        self.detail = detail


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = b64url(os.urandom(48))
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


@dataclass
class Tokens:
    access_token: str
    refresh_token: str


class OAuthWorker:
    """One client of the hub's authorization server over one keep-alive connection."""

    def __init__(self, port: int, index: int, timeout_s: float) -> None:
        self.port = port
        self.index = index
        self.timeout_s = timeout_s
        self.base = f"http://127.0.0.1:{port}"
        self.resource = self.base + "/mcp"
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
        self.client_id = ""
        self.tokens: Tokens | None = None

    def close(self) -> None:
        self.connection.close()

    def request(self, step: str, method: str, path: str, body: bytes | None, headers: dict[str, str]
                ) -> tuple[int, http.client.HTTPResponse, bytes]:
        """One exchange; a broken connection is reopened on the next request and reported as `step` failing."""
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            raise StepFailed(f"{step}: {type(error).__name__}", str(error)) from error
        if response.will_close:
            self.connection.close()
        return response.status, response, data

    def register(self) -> None:
        body = json.dumps({
            "client_name": f"gatehouse store bench {self.index}",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }).encode()
        status, _, data = self.request("register", "POST", "/register", body, {"Content-Type": "application/json"})
        if status != 201:
            raise StepFailed(f"register: HTTP {status}", data[:300].decode("utf-8", "replace"))
        self.client_id = json.loads(data)["client_id"]

    def login(self) -> Tokens:
        verifier, challenge = pkce_pair()
        query = urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": REDIRECT_URI,
            "state": b64url(os.urandom(9)), "code_challenge": challenge, "code_challenge_method": "S256",
            "resource": self.resource,
        })
        status, response, data = self.request("authorize", "GET", "/authorize?" + query, None, {})
        location = response.getheader("Location") or ""
        if status != 303 or not location.startswith(REDIRECT_URI + "?"):
            raise StepFailed(f"authorize: HTTP {status}", (location or data[:300].decode("utf-8", "replace")))
        code = parse_qs(urlsplit(location).query).get("code", [""])[0]
        if not code:
            raise StepFailed("authorize: no code", location[:300])
        form = urlencode({
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier,
            "client_id": self.client_id, "resource": self.resource,
        }).encode()
        self.tokens = self.token("token", form)
        return self.tokens

    def refresh(self) -> Tokens:
        assert self.tokens is not None
        form = urlencode({
            "grant_type": "refresh_token", "refresh_token": self.tokens.refresh_token, "client_id": self.client_id,
        }).encode()
        self.tokens = self.token("refresh", form)
        return self.tokens

    def token(self, step: str, form: bytes) -> Tokens:
        status, _, data = self.request(step, "POST", "/token", form, FORM)
        if status != 200:
            raise StepFailed(f"{step}: HTTP {status}", data[:300].decode("utf-8", "replace"))
        body = json.loads(data)
        if not body.get("access_token") or not body.get("refresh_token"):
            raise StepFailed(f"{step}: no tokens", data[:300].decode("utf-8", "replace"))
        return Tokens(body["access_token"], body["refresh_token"])


@dataclass
class LoadResult:
    """One timed run of the workers: completed operations, their latencies (s), the failures by kind."""

    seconds: float
    completed: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    first_error: dict[str, str] = field(default_factory=dict)
    client_cpu_s: float = 0.0

    def figures(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        return {
            "completed": self.completed,
            "duration_s": self.seconds,
            "per_s": round(self.completed / self.seconds, 1) if self.seconds > 0 else 0.0,
            "latency_ms": {name: round(percentile(lat, q) * 1000, 3) for name, q in
                           (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))} if lat else {},
            "errors": dict(self.errors),
            "first_error": self.first_error,
            "client_cpu_s": round(self.client_cpu_s, 3),
            "client_cpu_utilisation": round(self.client_cpu_s / self.seconds, 3) if self.seconds > 0 else None,
        }


def percentile(ordered: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of an ascending list."""
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def run_workers(workers: list[OAuthWorker], operation: str, seconds: float) -> LoadResult:
    """Every worker repeats `operation` ("login" or "refresh") for `seconds`, all starting together; an operation
    that completes after the end is not counted. A failed operation counts under its key and the worker goes on
    (a worker that failed to refresh logs in again, so it has a valid refresh token for the next rotation)."""
    result = LoadResult(seconds)
    lock = threading.Lock()
    barrier = threading.Barrier(len(workers) + 1)
    window: dict[str, float] = {}

    def work(worker: OAuthWorker) -> None:
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        first: dict[str, str] = {}
        barrier.wait()
        end = window["end"]
        while True:
            started = time.monotonic()
            if started >= end:
                break
            try:
                if operation == "login":
                    worker.login()
                else:
                    worker.refresh()
            except StepFailed as failure:
                if time.monotonic() < end:
                    errors[failure.key] += 1
                    first.setdefault(failure.key, failure.detail)
                if operation == "refresh":
                    try:
                        worker.login()
                    except StepFailed:
                        time.sleep(0.05)
                continue
            finished = time.monotonic()
            if finished <= end:
                latencies.append(finished - started)
        with lock:
            result.completed += len(latencies)
            result.latencies.extend(latencies)
            result.errors.update(errors)
            for key, detail in first.items():
                result.first_error.setdefault(key, detail)

    threads = [threading.Thread(target=work, args=(w,), name=f"{operation}-{w.index}", daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    cpu_before = _own_cpu()
    window["end"] = time.monotonic() + seconds
    barrier.wait()
    for thread in threads:
        thread.join(seconds + 60)
    result.client_cpu_s = _own_cpu() - cpu_before
    return result


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
