"""The embedded authorization server's flow, driven like a browser plus a public client:
register (RFC 7591), GET /authorize (sign-in page with hidden request_id and csrf_token, and a
gatehouse_browser cookie), POST /authorize with email and password, then /token with the code
and the PKCE verifier; refresh; and an authenticated MCP tools/call."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpio

REDIRECT_URI = "http://127.0.0.1:9/cb"
MODERN = "2026-07-28"
_HIDDEN = re.compile(r'name="(request_id|csrf_token)"\s+value="([^"]*)"')


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_verifier() -> str:
    return b64url(secrets.token_bytes(32))  # 43 characters


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def register(base: str, source: str | None = None, timeout: float = 5.0) -> httpio.Response:
    return httpio.post_json(
        base,
        "/register",
        {
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "client_name": "hostile-bench",
        },
        timeout=timeout,
        source=source,
    )


def register_client(base: str) -> str:
    response = register(base)
    if response.status != 201:
        raise RuntimeError(f"/register answered {response.status}: {response.text()[:300]}")
    return response.json()["client_id"]


def authorize_path(client_id: str, verifier: str, resource: str | None = None) -> str:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        "state": secrets.token_urlsafe(12),
    }
    if resource:
        query["resource"] = resource
    return "/authorize?" + urlencode(query)


@dataclass
class SignInPage:
    request_id: str
    csrf_token: str
    cookie: str  # "gatehouse_browser=VALUE"
    verifier: str


def hidden_fields(body: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(body)}


def cookie_from(response: httpio.Response) -> str | None:
    for header in response.set_cookies:
        first = header.split(";", 1)[0].strip()
        if first.startswith("gatehouse_browser="):
            return first
    return None


def open_page(base: str, client_id: str, resource: str | None = None, timeout: float = 5.0) -> SignInPage:
    verifier = new_verifier()
    response = httpio.get(base, authorize_path(client_id, verifier, resource), timeout=timeout)
    fields = hidden_fields(response.text())
    cookie = cookie_from(response)
    if response.status != 200 or set(fields) != {"request_id", "csrf_token"} or not cookie:
        raise RuntimeError(f"no sign-in page: HTTP {response.status} {response.text()[:300]!r}")
    return SignInPage(fields["request_id"], fields["csrf_token"], cookie, verifier)


def submit(base: str, page: SignInPage, email: str, password: str, timeout: float = 10.0) -> httpio.Response:
    return httpio.post_form(
        base,
        "/authorize",
        {
            "request_id": page.request_id,
            "csrf_token": page.csrf_token,
            "email": email,
            "password": password,
            "decision": "approve",
        },
        headers={"Cookie": page.cookie},
        timeout=timeout,
    )


def redirect_params(response: httpio.Response) -> dict[str, str] | None:
    location = response.headers.get("location", "")
    if response.status not in (302, 303) or not location.startswith(REDIRECT_URI):
        return None
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(base: str, client_id: str, code: str, verifier: str, resource: str | None = None) -> httpio.Response:
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT_URI,
    }
    if resource:
        form["resource"] = resource
    return httpio.post_form(base, "/token", form, timeout=10.0)


def refresh(base: str, client_id: str, refresh_token: str, timeout: float = 10.0) -> httpio.Response:
    return httpio.post_form(
        base, "/token", {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": refresh_token},
        timeout=timeout,
    )


def login(base: str, client_id: str, email: str, password: str, resource: str) -> dict:
    """The whole flow with the right password; returns the token response (access and refresh)."""
    page = open_page(base, client_id, resource)
    answer = submit(base, page, email, password)
    params = redirect_params(answer)
    if not params or "code" not in params:
        raise RuntimeError(f"sign-in did not give a code: HTTP {answer.status} {answer.headers.get('location')} "
                           f"{answer.text()[:300]!r}")
    tokens = exchange(base, client_id, params["code"], page.verifier, resource)
    if tokens.status != 200:
        raise RuntimeError(f"/token answered {tokens.status}: {tokens.text()[:300]}")
    return tokens.json()


def call_add(base: str, token: str, timeout: float = 10.0) -> httpio.Response:
    """tools/call add(2, 3) over the stateless 2026-07-28 protocol with a bearer token."""
    return httpio.post_json(
        base,
        "/mcp",
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {
                "name": "add",
                "arguments": {"a": 2, "b": 3},
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": MODERN,
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            },
        },
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": MODERN,
            "Mcp-Method": "tools/call",
            "Mcp-Name": "add",
        },
        timeout=timeout,
    )
