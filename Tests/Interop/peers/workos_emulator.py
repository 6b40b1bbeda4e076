"""A WorkOS User Management (AuthKit) emulator for the interop suite: the part of api.workos.com that
a server-side "Sign in with WorkOS" integration talks to, served on 127.0.0.1 only.

The request and response shapes follow the official Python SDK (workos==10.8.0, pinned in
requirements.txt), read from its source and checked by test_workos_emulator.py: where the SDK and
WorkOS's documentation say how the real API answers, this emulator answers the same way.

Run (from Tests/Interop):

    python -m peers.workos_emulator --port P --api-key K --client-id C --users USERS_JSON \
        --redirect-uri URI [--redirect-uri URI2 ...] [--connection CONN_ID[=ORG_ID] ...] \
        [--access-token-ttl SECONDS] [--code-ttl SECONDS]

  --users        a JSON list of users, inline or "@path" to a file:
                 [{"id": "user_01A", "email": "ada@example.com", "first_name": "Ada",
                   "last_name": "Lovelace", "organizations": ["org_01X"], "mfa": false,
                   "denied": false}]
                 optional per user: email_verified (default true), profile_picture_url,
                 external_id, role (default "member"), permissions (default []),
                 authentication_method (default "Password", used with provider=authkit)
  --connection   an SSO connection id, with the organization it belongs to (CONN=ORG) or none
  It prints "workos-emulator ready <base URL>" once it listens, answers GET /healthz with
  {"status": "ok"}, and stops cleanly (exit 0) on SIGTERM or SIGINT.

Endpoints (base URL http://127.0.0.1:P, which is also the access tokens' issuer):

  GET  /user_management/authorize    client_id, redirect_uri, response_type=code, [state],
                                     [code_challenge + code_challenge_method=S256], and exactly
                                     one of provider (authkit, GoogleOAuth, MicrosoftOAuth,
                                     GitHubOAuth, AppleOAuth), organization_id, connection_id.
                                     A bad request gets an HTML error page (400; a non-member of
                                     the organization 403), never a redirect; its <main> carries
                                     the reason in data-error. Otherwise: with login_hint=EMAIL
                                     that user is signed in at once (302 to redirect_uri with
                                     code and state), without it a sign-in page: <select
                                     name="email"> of the users, buttons "Continue"
                                     (decision=allow) and "Cancel" (decision=deny).
  POST /user_management/authorize    the sign-in page's form: 302 with code and state, or with
                                     error=access_denied, error_description and state on Cancel.
  POST /user_management/authenticate JSON (or form) body as the SDK sends it: grant_type
                                     authorization_code (client_id, client_secret = API key,
                                     code, code_verifier) or refresh_token (client_id,
                                     client_secret, refresh_token, [organization_id]).
  GET  /sso/jwks/{client_id}         the JWKS that verifies the access tokens (RS256, kid, x5c)
  GET  /user_management/users/{id}   the user object (Authorization: Bearer <API key>)
  GET  /_emulator/journal            every request so far (not /healthz, not /_emulator/*):
                                     method, path, query, json/form body, whether and how it
                                     was authorized, status and redirect location, with codes,
                                     verifiers, secrets and tokens replaced by "<present>"
  DELETE /_emulator/journal          forgets the journal

Answers of POST /user_management/authenticate:

  200  {"user": {user object}, "organization_id": "org_..." | null, "access_token": JWT,
        "refresh_token": "...", "authentication_method": "Password" | "SSO" | "GoogleOAuth" ...}
  401  {"error": "invalid_client", "error_description": ...}     unknown client_id, wrong or
                                                                  missing client_secret
  400  {"error": "invalid_grant", "error_description": ...}      unknown, used or expired code
                                                                  or refresh token; PKCE
                                                                  verifier wrong or missing
  400  {"error": "invalid_request" | "unsupported_grant_type", "error_description": ...}
  403  {"code": "mfa_challenge", "message": ..., "pending_authentication_token": ...,
        "authentication_factors": [{"id": "auth_factor_...", "type": "totp"}], "user": {...}}
                                                                  a user with "mfa": true
  403  {"code": "email_verification_required", "message": ..., "pending_authentication_token":
        ..., "email": ..., "email_verification_id": "email_verification_..."}
                                                                  a user with "denied": true
The SDK raises BadRequestError, AuthenticationError, MfaChallengeError and
EmailVerificationRequiredError for these (the last two only because the status is 403: it picks
the auth-flow exception by `code` for 403 answers only).

Organization routing: with organization_id, or a connection_id that belongs to an organization,
only members of that organization may sign in, and the code's answer and access token carry it.
With provider=authkit a user who belongs to exactly one organization is signed in to it (hosted
AuthKit does the same); otherwise organization_id is null.

Codes are single-use (any redemption attempt with the right client credentials uses them up)
and expire after 10 minutes; refresh tokens rotate (the one presented stops working).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import html
import json
import logging
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jwt
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

try:  # python -m peers.workos_emulator, or imported as peers.workos_emulator
    from .peer_serving import GracefulServer, read_request
except ImportError:  # python peers/workos_emulator.py
    from peer_serving import GracefulServer, read_request  # type: ignore[no-redef]

CODE_TTL_S = 600
ACCESS_TOKEN_TTL_S = 300
# A pending sign-in page (GET authorize without login_hint) waits this long for its POST.
PENDING_TTL_S = 600
PROVIDERS = ("authkit", "AppleOAuth", "GitHubOAuth", "GoogleOAuth", "MicrosoftOAuth")
# Values that are secrets or single-use credentials are never journaled.
REDACTED = {
    "code",
    "code_verifier",
    "client_secret",
    "refresh_token",
    "access_token",
    "pending_authentication_token",
}
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str) -> str:
    """A WorkOS-style id: prefix, underscore and a ULID (48 bits of milliseconds, 80 random bits)."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(CROCKFORD[value & 31])
        value >>= 5
    ulid = "".join(reversed(chars))
    return f"{prefix}_{ulid}" if prefix else ulid


def iso(moment: datetime) -> str:
    """2021-06-25T19:07:33.155Z, the API's timestamp form."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode("ascii", errors="replace")).digest())


def with_query(uri: str, params: Sequence[tuple[str, str | None]]) -> str:
    """`uri` with `params` (None values left out) added to whatever query it has."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("<present>" if k in REDACTED and v not in (None, "") else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


# --------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------


@dataclass
class User:
    id: str
    email: str
    first_name: str | None
    last_name: str | None
    organizations: list[str]
    mfa: bool = False
    denied: bool = False
    email_verified: bool = True
    profile_picture_url: str | None = None
    external_id: str | None = None
    role: str = "member"
    permissions: list[str] = field(default_factory=list)
    authentication_method: str = "Password"
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc) - timedelta(days=30))
    last_sign_in_at: datetime | None = None

    @classmethod
    def from_json(cls, entry: Any, index: int) -> "User":
        if not isinstance(entry, dict):
            raise ValueError(f"users[{index}] is not an object")
        for key in ("id", "email"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise ValueError(f"users[{index}] needs a non-empty string {key!r}")
        organizations = entry.get("organizations", [])
        if not isinstance(organizations, list) or not all(isinstance(o, str) and o for o in organizations):
            raise ValueError(f"users[{index}].organizations must be a list of organization ids")
        known = {
            "id", "email", "first_name", "last_name", "organizations", "mfa", "denied", "email_verified",
            "profile_picture_url", "external_id", "role", "permissions", "authentication_method",
        }
        unknown = sorted(set(entry) - known)
        if unknown:
            raise ValueError(f"users[{index}] has unknown keys {unknown}; known: {sorted(known)}")
        return cls(
            id=entry["id"],
            email=entry["email"],
            first_name=entry.get("first_name"),
            last_name=entry.get("last_name"),
            organizations=list(organizations),
            mfa=bool(entry.get("mfa", False)),
            denied=bool(entry.get("denied", False)),
            email_verified=bool(entry.get("email_verified", True)),
            profile_picture_url=entry.get("profile_picture_url"),
            external_id=entry.get("external_id"),
            role=entry.get("role", "member"),
            permissions=list(entry.get("permissions", [])),
            authentication_method=entry.get("authentication_method", "Password"),
        )

    def as_object(self) -> dict[str, Any]:
        """The user object, with every key the SDK's User.from_dict requires (external_id and
        last_sign_in_at must be there, null or not)."""
        return {
            "object": "user",
            "id": self.id,
            "email": self.email,
            "email_verified": self.email_verified,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "profile_picture_url": self.profile_picture_url,
            "external_id": self.external_id,
            "metadata": {},
            "locale": None,
            "last_sign_in_at": iso(self.last_sign_in_at) if self.last_sign_in_at else None,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.last_sign_in_at or self.created_at),
        }


@dataclass
class Settings:
    port: int
    api_key: str
    client_id: str
    users: list[User]
    redirect_uris: list[str]
    connections: dict[str, str | None]
    access_token_ttl: int = ACCESS_TOKEN_TTL_S
    code_ttl: int = CODE_TTL_S

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def load_users(text: str) -> list[User]:
    """USERS_JSON inline, or @path of a file holding it."""
    if text.startswith("@"):
        text = Path(text[1:]).read_text()
    entries = json.loads(text)
    if not isinstance(entries, list):
        raise ValueError("--users must be a JSON list")
    users = [User.from_json(entry, index) for index, entry in enumerate(entries)]
    for attribute in ("id", "email"):
        values = [getattr(user, attribute).lower() for user in users]
        if len(values) != len(set(values)):
            raise ValueError(f"--users has two users with the same {attribute}")
    return users


# --------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------


@dataclass
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    state: str | None
    code_challenge: str | None
    organization_id: str | None  # the organization the sign-in is routed to, if any
    authentication_method: str | None  # None: the user's own (provider=authkit)
    expires_at: float = 0.0


@dataclass
class IssuedCode:
    user_id: str
    client_id: str
    code_challenge: str | None
    organization_id: str | None
    authentication_method: str
    expires_at: float


@dataclass
class SignInSession:
    id: str
    user_id: str
    client_id: str
    organization_id: str | None
    authentication_method: str
    auth_time: int


class Emulator:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.users = {user.id: user for user in settings.users}
        self.users_by_email = {user.email.lower(): user for user in settings.users}
        self.organizations = {org for user in settings.users for org in user.organizations}
        self.organizations |= {org for org in settings.connections.values() if org}
        self.pending: dict[str, AuthorizationRequest] = {}
        self.codes: dict[str, IssuedCode] = {}
        self.sessions: dict[str, SignInSession] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> session id
        self.journal: list[dict[str, Any]] = []
        self._make_key()

    # ------------------------------------------------------------------ signing key

    def _make_key(self) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = new_id("sso_oidc_key_pair")
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "workos-emulator")])
        now = datetime.now(timezone.utc)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .sign(self.private_key, hashes.SHA256())
        )
        der = certificate.public_bytes(serialization.Encoding.DER)
        numbers = self.private_key.public_key().public_numbers()
        self.jwks = {
            "keys": [
                {
                    "alg": "RS256",
                    "kty": "RSA",
                    "use": "sig",
                    "x5c": [base64.b64encode(der).decode("ascii")],
                    "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                    "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
                    "kid": self.kid,
                    "x5t#S256": b64url(hashlib.sha256(der).digest()),
                }
            ]
        }

    def access_token(self, session: SignInSession) -> str:
        user = self.users[session.user_id]
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.settings.base_url,
            "sub": user.id,
            "sid": session.id,
            "jti": new_id(""),
            "iat": now,
            "exp": now + self.settings.access_token_ttl,
            "auth_time": session.auth_time,
        }
        if session.organization_id:
            claims["org_id"] = session.organization_id
            claims["role"] = user.role
            claims["roles"] = [user.role]
            claims["permissions"] = list(user.permissions)
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})

    # ------------------------------------------------------------------ housekeeping

    def forget_expired(self) -> None:
        now = time.time()
        for table in (self.pending, self.codes):
            for key in [key for key, value in table.items() if value.expires_at < now]:
                del table[key]


# --------------------------------------------------------------------------------------
# HTML pages
# --------------------------------------------------------------------------------------


def page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)} · WorkOS emulator</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
        ".error{color:#a00}button{margin-right:.5rem}</style></head>\n"
        f"<body>{body}</body></html>\n"
    )


def error_page(status: int, reason: str, message: str) -> HTMLResponse:
    body = (
        f'<main data-error="{html.escape(reason)}"><h1>Something went wrong</h1>'
        f'<p class="error" id="error-message">{html.escape(message)}</p>'
        f'<p><small>error: <code>{html.escape(reason)}</code></small></p></main>'
    )
    return HTMLResponse(page("Error", body), status_code=status)


def sign_in_page(emulator: Emulator, pending_id: str, request: AuthorizationRequest, target: str) -> HTMLResponse:
    options = "".join(
        f'<option value="{html.escape(user.email)}">{html.escape(user.email)}'
        f"{html.escape(' — ' + ' '.join(p for p in (user.first_name, user.last_name) if p)) if (user.first_name or user.last_name) else ''}"
        "</option>"
        for user in emulator.settings.users
    )
    body = (
        '<main data-page="sign-in"><h1>Sign in</h1>'
        f"<p>to <code>{html.escape(request.client_id)}</code> with {html.escape(target)}</p>"
        '<form method="post" action="/user_management/authorize">'
        f'<input type="hidden" name="authorization" value="{html.escape(pending_id)}">'
        f'<p><label for="email">Account</label> <select id="email" name="email">{options}</select></p>'
        '<p><button type="submit" name="decision" value="allow">Continue</button>'
        '<button type="submit" name="decision" value="deny">Cancel</button></p>'
        "</form></main>"
    )
    return HTMLResponse(page("Sign in", body))


# --------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def build(settings: Settings) -> tuple[ASGIApp, Emulator]:
    emulator = Emulator(settings)

    # ------------------------------------------------------------------ authorize

    def validate_authorize(query: Mapping[str, str]) -> AuthorizationRequest | HTMLResponse:
        client_id = query.get("client_id", "")
        if not client_id:
            return error_page(400, "invalid_client", "Missing client_id.")
        if client_id != settings.client_id:
            return error_page(400, "invalid_client", f"Invalid client ID: {client_id!r} is not a client of this environment.")
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri:
            return error_page(400, "invalid_redirect_uri", "Missing redirect_uri.")
        if redirect_uri not in settings.redirect_uris:
            return error_page(
                400,
                "invalid_redirect_uri",
                f"Invalid redirect URI: redirect URI not configured for this environment: {redirect_uri}",
            )
        if query.get("response_type") != "code":
            return error_page(400, "unsupported_response_type", "response_type must be \"code\".")
        challenge = query.get("code_challenge") or None
        method = query.get("code_challenge_method") or None
        if (challenge is None) != (method is None):
            return error_page(400, "invalid_request", "code_challenge and code_challenge_method go together.")
        if method is not None and method != "S256":
            return error_page(400, "invalid_request", f"Unsupported code_challenge_method {method!r}: the only valid one is \"S256\".")
        selectors = {name: query[name] for name in ("provider", "organization_id", "connection_id") if query.get(name)}
        if len(selectors) != 1:
            return error_page(
                400,
                "invalid_request",
                "Exactly one of provider, organization_id or connection_id is required"
                + (f" (got {', '.join(sorted(selectors))})." if selectors else "."),
            )
        organization_id: str | None = None
        method_used: str | None
        if "provider" in selectors:
            provider = selectors["provider"]
            if provider not in PROVIDERS:
                return error_page(400, "invalid_request", f"Unsupported provider {provider!r}; supported: {', '.join(PROVIDERS)}.")
            method_used = None if provider == "authkit" else provider
        elif "organization_id" in selectors:
            organization_id = selectors["organization_id"]
            if organization_id not in emulator.organizations:
                return error_page(400, "organization_not_found", f"Organization not found: {organization_id!r}.")
            method_used = "SSO"
        else:
            connection_id = selectors["connection_id"]
            if connection_id not in settings.connections:
                return error_page(400, "connection_not_found", f"Connection not found: {connection_id!r}.")
            organization_id = settings.connections[connection_id]
            method_used = "SSO"
        return AuthorizationRequest(
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=query.get("state") or None,
            code_challenge=challenge,
            organization_id=organization_id,
            authentication_method=method_used,
            expires_at=time.time() + PENDING_TTL_S,
        )

    def sign_in(request: AuthorizationRequest, email: str) -> Response:
        """Issues a code for the user with `email` and redirects back, or an error page."""
        user = emulator.users_by_email.get(email.strip().lower())
        if user is None:
            return error_page(400, "user_not_found", f"No user with the email address {email!r}.")
        organization_id = request.organization_id
        if organization_id is not None and organization_id not in user.organizations:
            return error_page(
                403,
                "organization_membership_required",
                f"{user.email} is not a member of organization {organization_id} and cannot sign in to it.",
            )
        if organization_id is None and request.authentication_method is None and len(user.organizations) == 1:
            organization_id = user.organizations[0]  # hosted AuthKit signs a one-organization user in to it
        code = secrets.token_urlsafe(32)
        emulator.codes[code] = IssuedCode(
            user_id=user.id,
            client_id=request.client_id,
            code_challenge=request.code_challenge,
            organization_id=organization_id,
            authentication_method=request.authentication_method or user.authentication_method,
            expires_at=time.time() + settings.code_ttl,
        )
        return RedirectResponse(with_query(request.redirect_uri, [("code", code), ("state", request.state)]), status_code=302)

    async def authorize(request: Request) -> Response:
        emulator.forget_expired()
        query = dict(request.query_params)
        checked = validate_authorize(query)
        if isinstance(checked, HTMLResponse):
            return checked
        if query.get("login_hint"):
            return sign_in(checked, query["login_hint"])
        pending_id = secrets.token_urlsafe(24)
        emulator.pending[pending_id] = checked
        if "provider" in query:
            target = f"provider {query['provider']}"
        elif "organization_id" in query:
            target = f"organization {query['organization_id']}"
        else:
            target = f"connection {query['connection_id']}"
        return sign_in_page(emulator, pending_id, checked, target)

    async def authorize_form(request: Request) -> Response:
        emulator.forget_expired()
        form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True))
        pending = emulator.pending.pop(form.get("authorization", ""), None)
        if pending is None:
            return error_page(400, "invalid_request", "This sign-in request is unknown or has expired; start again.")
        decision = form.get("decision")
        if decision == "deny":
            return RedirectResponse(
                with_query(
                    pending.redirect_uri,
                    [("error", "access_denied"), ("error_description", "The user cancelled the sign-in."), ("state", pending.state)],
                ),
                status_code=302,
            )
        if decision != "allow":
            return error_page(400, "invalid_request", "decision must be \"allow\" or \"deny\".")
        return sign_in(pending, form.get("email", ""))

    # ------------------------------------------------------------------ authenticate

    def success(session: SignInSession) -> JSONResponse:
        user = emulator.users[session.user_id]
        refresh_token = secrets.token_urlsafe(32)
        emulator.refresh_tokens[refresh_token] = session.id
        return JSONResponse(
            {
                "user": user.as_object(),
                "organization_id": session.organization_id,
                "access_token": emulator.access_token(session),
                "refresh_token": refresh_token,
                "authentication_method": session.authentication_method,
            }
        )

    def step_up(user: User) -> JSONResponse | None:
        """The 403 answers of users who cannot finish signing in (the SDK picks its exception by
        `code` for 403 answers only)."""
        if user.mfa:
            return JSONResponse(
                {
                    "code": "mfa_challenge",
                    "message": "The user must complete an MFA challenge to finish authenticating.",
                    "pending_authentication_token": secrets.token_urlsafe(18),
                    "authentication_factors": [{"id": new_id("auth_factor"), "type": "totp"}],
                    "user": user.as_object(),
                },
                status_code=403,
            )
        if user.denied:
            return JSONResponse(
                {
                    "code": "email_verification_required",
                    "message": "Email ownership must be verified before authentication.",
                    "pending_authentication_token": secrets.token_urlsafe(18),
                    "email": user.email,
                    "email_verification_id": new_id("email_verification"),
                },
                status_code=403,
            )
        return None

    async def authenticate(request: Request) -> Response:
        emulator.forget_expired()
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        body: Any
        try:
            if content_type.startswith("application/x-www-form-urlencoded"):
                body = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
            else:
                body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            return oauth_error(400, "invalid_request", "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return oauth_error(400, "invalid_request", "The request body must be a JSON object.")
        client_id = body.get("client_id")
        if not client_id:
            return oauth_error(400, "invalid_request", "client_id is required.")
        if client_id != settings.client_id:
            return oauth_error(401, "invalid_client", "Invalid client ID.")
        client_secret = body.get("client_secret")
        if not client_secret:
            return oauth_error(401, "invalid_client", "client_secret is required.")
        if not secrets.compare_digest(str(client_secret).encode(), settings.api_key.encode()):
            return oauth_error(401, "invalid_client", "Invalid client secret.")
        grant_type = body.get("grant_type")
        if grant_type == "authorization_code":
            return redeem_code(body)
        if grant_type == "refresh_token":
            return redeem_refresh_token(body)
        if not grant_type:
            return oauth_error(400, "invalid_request", "grant_type is required.")
        return oauth_error(400, "unsupported_grant_type", f"Unsupported grant type {grant_type!r}.")

    def redeem_code(body: Mapping[str, Any]) -> Response:
        code = body.get("code")
        if not code or not isinstance(code, str):
            return oauth_error(400, "invalid_request", "code is required.")
        issued = emulator.codes.pop(code, None)  # single-use: gone whatever happens next
        if issued is None or issued.expires_at < time.time():
            return oauth_error(400, "invalid_grant", "The code has expired or is invalid.")
        if issued.client_id != body.get("client_id"):
            return oauth_error(400, "invalid_grant", "The code was not issued to this client.")
        verifier = body.get("code_verifier")
        if issued.code_challenge is not None:
            if not verifier or not isinstance(verifier, str):
                return oauth_error(400, "invalid_grant", "code_verifier is required: the authorization request had a code_challenge.")
            if not secrets.compare_digest(s256(verifier), issued.code_challenge):
                return oauth_error(400, "invalid_grant", "The code_verifier does not match the code_challenge.")
        elif verifier:
            return oauth_error(400, "invalid_grant", "code_verifier given, but the authorization request had no code_challenge.")
        user = emulator.users[issued.user_id]
        refusal = step_up(user)
        if refusal is not None:
            return refusal
        user.last_sign_in_at = datetime.now(timezone.utc)
        session = SignInSession(
            id=new_id("session"),
            user_id=user.id,
            client_id=issued.client_id,
            organization_id=issued.organization_id,
            authentication_method=issued.authentication_method,
            auth_time=int(time.time()),
        )
        emulator.sessions[session.id] = session
        return success(session)

    def redeem_refresh_token(body: Mapping[str, Any]) -> Response:
        token = body.get("refresh_token")
        if not token or not isinstance(token, str):
            return oauth_error(400, "invalid_request", "refresh_token is required.")
        session_id = emulator.refresh_tokens.get(token)
        session = emulator.sessions.get(session_id or "")
        if session is None or session.client_id != body.get("client_id"):
            return oauth_error(400, "invalid_grant", "Invalid refresh token.")
        organization_id = body.get("organization_id")
        if organization_id and organization_id not in emulator.users[session.user_id].organizations:
            return oauth_error(400, "invalid_grant", f"The user is not a member of organization {organization_id}.")
        del emulator.refresh_tokens[token]  # rotation: the presented token is spent
        if organization_id:
            session.organization_id = organization_id
        return success(session)

    # ------------------------------------------------------------------ other API routes

    async def jwks(request: Request) -> Response:
        if request.path_params["client_id"] != settings.client_id:
            client_id = request.path_params["client_id"]
            return JSONResponse({"message": f"Client not found: '{client_id}'.", "code": "entity_not_found", "entity_id": client_id}, status_code=404)
        return JSONResponse(emulator.jwks)

    def unauthorized(request: Request) -> Response | None:
        """401 unless the request carries the API key as a bearer token."""
        authorization = request.headers.get("authorization", "")
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(key.strip().encode(), settings.api_key.encode()):
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        return None

    async def list_users(request: Request) -> Response:
        if (refused := unauthorized(request)) is not None:
            return refused
        limit = max(1, min(100, int(request.query_params.get("limit", "10") or 10)))
        data = [user.as_object() for user in list(emulator.users.values())[:limit]]
        return JSONResponse({"object": "list", "data": data, "list_metadata": {"before": None, "after": None}})

    async def get_organization(request: Request) -> Response:
        if (refused := unauthorized(request)) is not None:
            return refused
        organization_id = request.path_params["organization_id"]
        if organization_id not in emulator.organizations:
            return JSONResponse(
                {"message": f"Organization not found: '{organization_id}'.", "code": "entity_not_found", "entity_id": organization_id},
                status_code=404)
        now = iso(datetime.now(timezone.utc))
        return JSONResponse({
            "object": "organization", "id": organization_id, "name": organization_id, "domains": [],
            "allow_profiles_outside_organization": False, "external_id": None, "metadata": {}, "created_at": now, "updated_at": now,
        })

    async def get_user(request: Request) -> Response:
        if (refused := unauthorized(request)) is not None:
            return refused
        user_id = request.path_params["user_id"]
        user = emulator.users.get(user_id)
        if user is None:
            return JSONResponse({"message": f"User not found: '{user_id}'.", "code": "entity_not_found", "entity_id": user_id}, status_code=404)
        return JSONResponse(user.as_object())

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def journal(request: Request) -> Response:
        if request.method == "DELETE":
            emulator.journal.clear()
            return Response(status_code=204)
        return JSONResponse(emulator.journal)

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/user_management/authorize", authorize, methods=["GET"]),
            Route("/user_management/authorize", authorize_form, methods=["POST"]),
            Route("/user_management/authenticate", authenticate, methods=["POST"]),
            Route("/user_management/users", list_users, methods=["GET"]),
            Route("/user_management/users/{user_id}", get_user, methods=["GET"]),
            Route("/organizations/{organization_id}", get_organization, methods=["GET"]),
            Route("/sso/jwks/{client_id}", jwks, methods=["GET"]),
            Route("/_emulator/journal", journal, methods=["GET", "DELETE"]),
        ]
    )
    return RecordRequests(app, emulator.journal), emulator


class RecordRequests:
    """ASGI middleware: journals every request but /healthz and /_emulator/* (redacted), with its
    status and redirect location, and passes it on unchanged."""

    def __init__(self, app: ASGIApp, journal: list[dict[str, Any]]) -> None:
        self.app = app
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/healthz" or scope["path"].startswith("/_emulator/"):
            await self.app(scope, receive, send)
            return
        body, headers, replay = await read_request(scope, receive)
        authorization = headers.get("authorization")
        entry: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "query": redact(dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))),
            "authorization": authorization.partition(" ")[0] if authorization else None,
        }
        if body:
            content_type = headers.get("content-type", "")
            if content_type.startswith("application/x-www-form-urlencoded"):
                entry["form"] = redact(dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)))
            else:
                try:
                    entry["json"] = redact(json.loads(body))
                except ValueError:
                    entry["json"] = "<unparsable>"

        async def send_and_record(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.decode("latin-1").lower() == "location":
                        location = value.decode("latin-1")
                        base, _, query = location.partition("?")
                        pairs = [(k, "<present>" if k in REDACTED else v) for k, v in parse_qsl(query, keep_blank_values=True)]
                        entry["location"] = base + ("?" + urlencode(pairs) if pairs else "")
                self.journal.append(entry)
            await send(message)

        await self.app(scope, replay, send_and_record)


# --------------------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------------------


class AnnouncingServer(GracefulServer):
    """Prints the readiness line once the socket listens."""

    ready_line = ""

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            print(self.ready_line, flush=True)


def parse_arguments(argv: Sequence[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(prog="python -m peers.workos_emulator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key", required=True, help="the API key, also the client_secret of /authenticate")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--users", required=True, help="JSON list of users, inline or @path")
    parser.add_argument("--redirect-uri", action="append", required=True, help="an allowed redirect URI (repeatable)")
    parser.add_argument("--connection", action="append", default=[], help="CONN_ID or CONN_ID=ORG_ID (repeatable)")
    parser.add_argument("--access-token-ttl", type=int, default=ACCESS_TOKEN_TTL_S, help=f"seconds (default {ACCESS_TOKEN_TTL_S})")
    parser.add_argument("--code-ttl", type=int, default=CODE_TTL_S, help=f"seconds (default {CODE_TTL_S})")
    arguments = parser.parse_args(argv)
    try:
        users = load_users(arguments.users)
    except (OSError, ValueError) as error:
        parser.error(f"--users: {error}")
    connections: dict[str, str | None] = {}
    for spec in arguments.connection:
        connection_id, _, organization_id = spec.partition("=")
        if not connection_id:
            parser.error(f"--connection {spec!r}: expected CONN_ID or CONN_ID=ORG_ID")
        connections[connection_id] = organization_id or None
    return Settings(
        port=arguments.port,
        api_key=arguments.api_key,
        client_id=arguments.client_id,
        users=users,
        redirect_uris=list(arguments.redirect_uri),
        connections=connections,
        access_token_ttl=arguments.access_token_ttl,
        code_ttl=arguments.code_ttl,
    )


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_arguments(argv)
    app, _ = build(settings)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="info", timeout_graceful_shutdown=2, lifespan="off")
    server = AnnouncingServer(config)
    server.ready_line = f"workos-emulator ready {settings.base_url}"
    asyncio.run(server.serve())
    logging.getLogger("workos-emulator").info("stopped")
    return 0


# --------------------------------------------------------------------------------------
# Starting it from a test
# --------------------------------------------------------------------------------------

INTEROP_DIR = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_S = 15.0
PORT_ATTEMPTS = 3


@dataclass
class RunningEmulator:
    """A started emulator process. `base_url` is its issuer and the SDK's base_url."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    api_key: str
    client_id: str
    argv: list[str]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/sso/jwks/{self.client_id}"

    def journal(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.base_url + "/_emulator/journal", timeout=5) as response:
            return json.loads(response.read())

    def clear_journal(self) -> None:
        request = urllib.request.Request(self.base_url + "/_emulator/journal", method="DELETE")
        with urllib.request.urlopen(request, timeout=5):
            pass

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"<could not read {self.log_path}: {error}>"






class _PortTaken(RuntimeError):
    pass


def _start_once(options: list[str], log_path: Path, api_key: str, client_id: str, timeout_s: float) -> RunningEmulator:
    from conftest import free_port, terminate  # test helpers, imported only where a test starts the emulator
    port = free_port()
    argv = [sys.executable, "-m", "peers.workos_emulator", "--port", str(port), *options]
    shown = [("<api key>" if previous == "--api-key" else arg) for previous, arg in zip([""] + argv, argv)]
    with open(log_path, "ab") as log:
        log.write(("$ " + " ".join(shown) + "\n").encode())
        log.flush()
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=INTEROP_DIR)
    emulator = RunningEmulator(port=port, process=process, log_path=log_path, api_key=api_key, client_id=client_id, argv=shown)
    deadline = time.monotonic() + timeout_s
    last_error = "no attempt made"
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            text = emulator.log_text()
            if "address already in use" in text.lower():
                raise _PortTaken(text)
            raise RuntimeError(f"workos-emulator exited with code {code} during start-up.\n{text}")
        try:
            with urllib.request.urlopen(emulator.base_url + "/healthz", timeout=1.0) as response:
                if json.loads(response.read()) == {"status": "ok"}:
                    return emulator
                last_error = f"HTTP {response.status}"
        except (OSError, ValueError) as error:
            last_error = repr(error)
        time.sleep(0.05)
    terminate(process)
    raise RuntimeError(f"workos-emulator did not answer GET /healthz within {timeout_s:.0f} s (last: {last_error}).\n{emulator.log_text()}")


@contextmanager
def workos_emulator(
    users: Sequence[Mapping[str, Any]],
    *,
    api_key: str,
    client_id: str,
    redirect_uris: Sequence[str],
    connections: Mapping[str, str | None] | None = None,
    access_token_ttl: int | None = None,
    code_ttl: int | None = None,
    startup_timeout_s: float = STARTUP_TIMEOUT_S,
) -> Iterator[RunningEmulator]:
    """Starts the emulator on a free 127.0.0.1 port (the users handed over in a file, as @path),
    waits at most `startup_timeout_s` for GET /healthz, yields it and stops it at exit (SIGTERM,
    SIGKILL after 5 s). Raises RuntimeError, with the emulator's output, when it does not come up."""
    from conftest import terminate  # a test helper, imported only where a test starts the emulator
    workdir = tempfile.TemporaryDirectory(prefix="workos-emulator-")
    users_path = Path(workdir.name) / "users.json"
    users_path.write_text(json.dumps(list(users)))
    options = ["--api-key", api_key, "--client-id", client_id, "--users", f"@{users_path}"]
    for uri in redirect_uris:
        options += ["--redirect-uri", uri]
    for connection_id, organization_id in (connections or {}).items():
        options += ["--connection", f"{connection_id}={organization_id}" if organization_id else connection_id]
    if access_token_ttl is not None:
        options += ["--access-token-ttl", str(access_token_ttl)]
    if code_ttl is not None:
        options += ["--code-ttl", str(code_ttl)]
    log_path = Path(workdir.name) / "emulator.log"
    emulator: RunningEmulator | None = None
    try:
        for attempt in range(PORT_ATTEMPTS):
            try:
                emulator = _start_once(options, log_path, api_key, client_id, startup_timeout_s)
                break
            except _PortTaken:
                if attempt == PORT_ATTEMPTS - 1:
                    raise RuntimeError(f"workos-emulator found its port taken {PORT_ATTEMPTS} times.\n{log_path.read_text(errors='replace')}") from None
        assert emulator is not None
        yield emulator
    finally:
        if emulator is not None:
            terminate(emulator.process)
        workdir.cleanup()


if __name__ == "__main__":
    sys.exit(main())
