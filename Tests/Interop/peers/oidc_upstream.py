"""An upstream OpenID Connect provider for the interop suite: oidc-provider-mock (PyPI, pinned in
requirements.txt) run as a subprocess on a free 127.0.0.1 port.

    with oidc_upstream(require_registration=True) as provider:
        provider.issuer                       # "http://127.0.0.1:PORT" (no trailing slash)
        provider.set_user("alice", {"email": "alice@example.com", "name": "Alice"})
        ...                                   # the browser signs in with complete_oidc_mock_sign_in
        provider.revoke_tokens("alice")       # the upstream session ends

What the mock does (oidc_provider_mock 0.3.4, read from its source and checked by
test_oidc_upstream_peer.py) that matters to a relying party:

  command     python -m oidc_provider_mock --host 127.0.0.1 --port PORT [--require-registration]
              [--require-nonce] [--no-refresh-token] [--token-max-age SECONDS]
              [--user SUB]... [--user-claims '{"sub": ..., ...}']...
  issuer      http://127.0.0.1:PORT, taken from the Host header of each request: discovery, the
              ID token's iss and every endpoint URL follow the host name the caller used, so
              always address it as 127.0.0.1 (the URL this module hands out).
  endpoints   /.well-known/openid-configuration, /oauth2/authorize (GET form, POST answer),
              /oauth2/token, /userinfo (GET or POST), /jwks, /oauth2/clients (RFC 7591
              registration), /oauth2/end_session (a page only; the mock keeps no browser session)
              and, outside any spec, PUT /users/{sub} (claims) and POST /users/{sub}/revoke-tokens.
  clients     by default any client_id with any secret; the token endpoint wants
              client_secret_basic or client_secret_post (a public client, "none", is refused
              with 401 invalid_client). With --require-registration only clients registered at
              /oauth2/clients exist: their secret, redirect URIs and one auth method are checked.
  PKCE        NOT implemented: code_challenge is ignored and any code_verifier is accepted.
  nonce       echoed into the ID token; required only with --require-nonce; no replay check.
  ID token    RS256, header without "kid" (the JWKS has one key, which has a kid); claims iss,
              aud (a list: [client_id]), exp, iat, auth_time, nonce, at_hash, sub and the user's
              claims (standard ones filtered by scope: email needs "email", name needs "profile";
              non-standard ones always). Only issued when the scope contains "openid".
  refresh     refresh_token grant (unless --no-refresh-token): the answer has a new access
              token only (no ID token, no new refresh token); the old access token stops
              working, the refresh token stays valid and never expires on its own.
  lifetimes   access and ID token: 3600 s or --token-max-age.
  sign-in     one text field "sub" and an "Authorize" button; a separate "Deny" button sends
              action=deny and the browser is redirected with error=access_denied and NO state.
              A sub never seen before gets the claims {"email": sub}.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import parse_qs, quote, urlsplit

import httpx2

from conftest import free_port, terminate

STARTUP_TIMEOUT_S = 15.0
HTTP_TIMEOUT_S = 5.0
# Times the start is tried again when the port picked turned out to be taken meanwhile.
PORT_ATTEMPTS = 3

PAGE_TIMEOUT_MS = 10_000




# --------------------------------------------------------------------------------------
# The provider's own (non-standard) test API, usable with just the issuer URL
# --------------------------------------------------------------------------------------


def set_user_claims(issuer: str, sub: str, claims: Mapping[str, Any]) -> None:
    """PUT /users/{sub}: the user's claims (besides sub) from now on, for the next sign-in (the ID
    token) and for userinfo with tokens already issued. Replaces any claims set before."""
    response = httpx2.put(f"{issuer}/users/{quote(sub, safe='')}", json=dict(claims), timeout=HTTP_TIMEOUT_S)
    if response.status_code != 204:
        raise RuntimeError(f"PUT /users/{sub} answered {response.status_code}: {response.text}")


def revoke_user_tokens(issuer: str, sub: str) -> None:
    """POST /users/{sub}/revoke-tokens: every access and refresh token of the user stops working
    (userinfo answers 400 access_denied, the refresh_token grant 400 invalid_grant)."""
    response = httpx2.post(f"{issuer}/users/{quote(sub, safe='')}/revoke-tokens", timeout=HTTP_TIMEOUT_S)
    if response.status_code != 204:
        raise RuntimeError(f"POST /users/{sub}/revoke-tokens answered {response.status_code}: {response.text}")


def register_client(
    issuer: str, redirect_uris: Sequence[str], token_endpoint_auth_method: str = "client_secret_basic"
) -> tuple[str, str]:
    """RFC 7591 registration at /oauth2/clients; returns (client_id, client_secret). The method is
    client_secret_basic, client_secret_post or none; the client may then use only that one."""
    response = httpx2.post(
        f"{issuer}/oauth2/clients",
        json={"redirect_uris": list(redirect_uris), "token_endpoint_auth_method": token_endpoint_auth_method},
        timeout=HTTP_TIMEOUT_S,
    )
    if response.status_code != 201:
        raise RuntimeError(f"POST /oauth2/clients answered {response.status_code}: {response.text}")
    body = response.json()
    return body["client_id"], body["client_secret"]


# --------------------------------------------------------------------------------------
# The provider process
# --------------------------------------------------------------------------------------


@dataclass
class OidcUpstream:
    """A running oidc-provider-mock. `issuer` is its issuer URL (http://127.0.0.1:PORT)."""

    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    argv: list[str] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def discovery(self) -> dict[str, Any]:
        response = httpx2.get(self.discovery_url, timeout=HTTP_TIMEOUT_S)
        response.raise_for_status()
        return response.json()

    def set_user(self, sub: str, claims: Mapping[str, Any]) -> None:
        set_user_claims(self.issuer, sub, claims)

    def revoke_tokens(self, sub: str) -> None:
        revoke_user_tokens(self.issuer, sub)

    def register_client(self, redirect_uris: Sequence[str], token_endpoint_auth_method: str = "client_secret_basic") -> tuple[str, str]:
        return register_client(self.issuer, redirect_uris, token_endpoint_auth_method)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"<could not read {self.log_path}: {error}>"




def _start(argv_options: list[str], log_path: Path, workdir: str, timeout_s: float) -> OidcUpstream:
    """One attempt on one port; raises _PortTaken or RuntimeError."""
    port = free_port()
    argv = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port), *argv_options]
    log = open(log_path, "ab")
    log.write(("$ " + " ".join(argv) + "\n").encode())
    log.flush()
    env = {**os.environ, "NO_COLOR": "1"}
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env)
    finally:
        log.close()
    upstream = OidcUpstream(port=port, log_path=log_path, process=process, argv=argv)
    deadline = time.monotonic() + timeout_s
    last_error = "no attempt made"
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            text = upstream.log_text()
            if "address already in use" in text.lower():
                raise _PortTaken(text)
            raise RuntimeError(f"oidc-provider-mock exited with code {code} during start-up.\n{text}")
        try:
            response = httpx2.get(upstream.discovery_url, timeout=1.0)
            if response.status_code == 200 and response.json().get("issuer") == upstream.issuer:
                return upstream
            last_error = f"HTTP {response.status_code}: {response.text[:200]!r}"
        except (httpx2.HTTPError, ValueError) as error:
            last_error = repr(error)
        time.sleep(0.05)
    terminate(process)
    raise RuntimeError(
        f"oidc-provider-mock did not serve its discovery document within {timeout_s:.0f} s "
        f"(last: {last_error}).\n{upstream.log_text()}"
    )


class _PortTaken(RuntimeError):
    pass


@contextmanager
def oidc_upstream(
    *,
    require_registration: bool = False,
    require_nonce: bool = False,
    refresh_tokens: bool = True,
    token_max_age_s: int | None = None,
    users: Mapping[str, Mapping[str, Any]] | None = None,
    startup_timeout_s: float = STARTUP_TIMEOUT_S,
) -> Iterator[OidcUpstream]:
    """Starts oidc-provider-mock on a free 127.0.0.1 port, waits (at most `startup_timeout_s`) until
    its discovery document answers with the expected issuer, yields it and stops it at exit
    (SIGTERM, SIGKILL after 5 s). Raises RuntimeError, with the provider's output, when it does
    not come up.

    require_registration  only clients registered at /oauth2/clients may sign in
    require_nonce         authorization requests without nonce are refused
    refresh_tokens        the token endpoint issues refresh tokens
    token_max_age_s       lifetime of access and ID tokens (the mock's default: 3600)
    users                 sub -> claims, predefined; each is also a one-click button on the form
    """
    options: list[str] = []
    if require_registration:
        options.append("--require-registration=true")
    if require_nonce:
        options.append("--require-nonce=true")
    if not refresh_tokens:
        options.append("--no-refresh-token=true")
    if token_max_age_s is not None:
        options += ["--token-max-age", str(int(token_max_age_s))]
    for sub, claims in (users or {}).items():
        options += ["--user-claims", json.dumps({**claims, "sub": sub})]

    workdir = tempfile.TemporaryDirectory(prefix="oidc-upstream-")
    log_path = Path(workdir.name) / "provider.log"
    upstream: OidcUpstream | None = None
    try:
        for attempt in range(PORT_ATTEMPTS):
            try:
                upstream = _start(options, log_path, workdir.name, startup_timeout_s)
                break
            except _PortTaken:
                if attempt == PORT_ATTEMPTS - 1:
                    raise RuntimeError(f"oidc-provider-mock found its port taken {PORT_ATTEMPTS} times.\n"
                                       f"{log_path.read_text(errors='replace')}") from None
        assert upstream is not None
        yield upstream
    finally:
        if upstream is not None:
            terminate(upstream.process)
        workdir.cleanup()


# --------------------------------------------------------------------------------------
# The provider's sign-in form in a browser (Playwright, Debian's Chromium)
# --------------------------------------------------------------------------------------


def _on_sign_in_form(page: Any) -> tuple[str, str]:
    """(issuer, redirect_uri) of the authorization request whose form the page shows."""
    url = urlsplit(page.url)
    if url.path != "/oauth2/authorize":
        raise AssertionError(f"the browser is not on oidc-provider-mock's sign-in form but on {page.url}")
    redirect_uri = parse_qs(url.query).get("redirect_uri", [""])[0]
    if not redirect_uri:
        raise AssertionError(f"the authorization request names no redirect_uri: {page.url}")
    page.locator('input[name="sub"]').wait_for(state="visible")
    return f"{url.scheme}://{url.netloc}", redirect_uri


def _submit_and_follow(page: Any, redirect_uri: str, button: Any) -> str:
    """Presses `button` and returns the URL the provider redirects the browser to (the redirect_uri
    with code and state, or with error), whether or not anything answers there."""
    with page.expect_request(lambda request: request.url.startswith(redirect_uri), timeout=PAGE_TIMEOUT_MS) as arrival:
        button.click(no_wait_after=True)
    return arrival.value.url


def complete_oidc_mock_sign_in(page: Any, sub: str, email: str | None = None, name: str | None = None) -> str:
    """Signs in as `sub` on the provider's form that `page` shows (after the relying party sent the
    browser to /oauth2/authorize): types the sub and presses Authorize. The form has no fields for
    claims; when `email` or `name` is given they are first set with PUT /users/{sub} (replacing any
    earlier claims; email_verified is set true with an email). Returns the URL the browser is
    redirected to: the redirect_uri with code and state."""
    issuer, redirect_uri = _on_sign_in_form(page)
    if email is not None or name is not None:
        claims: dict[str, Any] = {}
        if email is not None:
            claims.update(email=email, email_verified=True)
        if name is not None:
            claims["name"] = name
        set_user_claims(issuer, sub, claims)
    page.locator('input[name="sub"]').fill(sub)
    return _submit_and_follow(page, redirect_uri, page.get_by_role("button", name="Authorize", exact=True))


def deny_oidc_mock_sign_in(page: Any) -> str:
    """Presses Deny on the provider's form that `page` shows. Returns the URL the browser is
    redirected to: the redirect_uri with error=access_denied and error_description, and NO state
    (the mock drops it on denial)."""
    _, redirect_uri = _on_sign_in_form(page)
    return _submit_and_follow(page, redirect_uri, page.get_by_role("button", name="Deny", exact=True))
