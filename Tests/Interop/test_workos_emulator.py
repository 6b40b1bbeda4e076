"""peers/workos_emulator.py on its own, without Gatehouse: the official WorkOS Python SDK
(workos==10.8.0) is pointed at the emulator (base_url) and has to accept every answer it gets,
so that Gatehouse tests built on the emulator talk to something the real SDK takes for WorkOS.

The browser's part is played with httpx2: the SDK builds the authorization URL, the test GETs it
with login_hint (the emulator then signs that user in at once) or GETs the sign-in page and POSTs
its form, and reads the code off the 302's Location (the redirect URI is never contacted).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import jwt
import pytest
import workos
from workos import AuthenticationError, AuthorizationError, BadRequestError, NotFoundError

# The auth-flow exceptions are not exported by the package, only defined in its private module.
from workos._errors import AuthenticationFlowError, EmailVerificationRequiredError, MfaChallengeError
from workos.session import seal_session_from_auth_response
from workos.user_management.models import AuthenticateResponse

from peers.workos_emulator import RunningEmulator, workos_emulator

HTTP_TIMEOUT_S = 5.0
API_KEY = "sk_test_" + secrets.token_urlsafe(24)
CLIENT_ID = "client_01EMULATORTESTCLIENT0000"
REDIRECT_URI = "http://127.0.0.1:9/auth/callback"
OTHER_REDIRECT_URI = "http://localhost:9/other/callback"
ORG_X = "org_01XXXXXXXXXXXXXXXXXXXXXXXX"
ORG_Y = "org_01YYYYYYYYYYYYYYYYYYYYYYYY"
CONN_X = "conn_01XXXXXXXXXXXXXXXXXXXXXX"
CONN_FREE = "conn_01FREEFREEFREEFREEFREEFR"

ADA = {"id": "user_01ADA", "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "organizations": [ORG_X]}
GRACE = {"id": "user_01GRACE", "email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper", "organizations": []}
BOB = {"id": "user_01BOB", "email": "bob@example.com", "first_name": "Bob", "last_name": None, "organizations": [ORG_Y]}
MULTI = {"id": "user_01MULTI", "email": "multi@example.com", "first_name": "Multi", "last_name": "Org", "organizations": [ORG_X, ORG_Y]}
MFA = {"id": "user_01MFA", "email": "mfa@example.com", "first_name": "Mo", "last_name": "Factor", "organizations": [], "mfa": True}
DENIED = {"id": "user_01DENIED", "email": "denied@example.com", "first_name": "Den", "last_name": "Ied", "organizations": [], "denied": True}
USERS = [ADA, GRACE, BOB, MULTI, MFA, DENIED]


# --------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------


def _started(**options: Any) -> Iterator[RunningEmulator]:
    try:
        context = workos_emulator(
            USERS,
            api_key=API_KEY,
            client_id=CLIENT_ID,
            redirect_uris=[REDIRECT_URI, OTHER_REDIRECT_URI],
            connections={CONN_X: ORG_X, CONN_FREE: None},
            startup_timeout_s=15.0,
            **options,
        )
        emulator = context.__enter__()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield emulator
    finally:
        context.__exit__(None, None, None)
    assert emulator.process.returncode == 0, f"the emulator did not stop cleanly:\n{emulator.log_text()}"


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    yield from _started()


@pytest.fixture()
def client(emulator: RunningEmulator) -> Iterator[workos.WorkOSClient]:
    # No retries: an emulator bug answering 5xx should fail at once, not after backoff.
    sdk = workos.WorkOSClient(api_key=API_KEY, client_id=CLIENT_ID, base_url=emulator.base_url, max_retries=0, request_timeout=5)
    yield sdk
    sdk.close()


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


def redirected(response: httpx2.Response, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
    assert response.status_code == 302, f"expected a redirect, got {response.status_code}: {response.text}"
    location = response.headers["location"]
    assert location.startswith(redirect_uri + "?"), location
    return query_of(location)


def start(client: workos.WorkOSClient, redirect_uri: str = REDIRECT_URI, **selector: str) -> dict[str, str]:
    """The SDK's authorization URL with PKCE S256 and state; returns url, state and code_verifier."""
    pair = client.pkce.generate()
    state = secrets.token_urlsafe(16)
    url = client.user_management.get_authorization_url(
        redirect_uri=redirect_uri,
        code_challenge=pair.code_challenge,
        code_challenge_method="S256",
        state=state,
        **selector,
    )
    return {"url": url, "state": state, "code_verifier": pair.code_verifier}


def code_for(client: workos.WorkOSClient, email: str, **selector: str) -> tuple[str, str]:
    """Signs `email` in through login_hint; returns (code, code_verifier)."""
    flow = start(client, **selector)
    answer = redirected(httpx2.get(flow["url"] + "&" + urlencode({"login_hint": email}), timeout=HTTP_TIMEOUT_S))
    assert answer["state"] == flow["state"], answer
    assert answer["code"], answer
    return answer["code"], flow["code_verifier"]


def error_page(response: httpx2.Response, status: int) -> str:
    """The reason (data-error) of an HTML error page; insists there is no redirect."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    assert "location" not in response.headers, response.headers
    assert response.headers["content-type"].startswith("text/html"), response.headers
    found = re.search(r'<main data-error="([^"]+)"', response.text)
    assert found, response.text
    return found.group(1)


def verified_claims(emulator: RunningEmulator, client: workos.WorkOSClient, access_token: str) -> dict[str, Any]:
    """The access token checked the way a relying party does: the key named by kid from the JWKS
    the SDK points at, RS256, iss = the emulator's base URL, exp/iat present."""
    assert client.user_management.get_jwks_url() == emulator.jwks_url
    signing_key = jwt.PyJWKClient(client.user_management.get_jwks_url()).get_signing_key_from_jwt(access_token)
    return jwt.decode(
        access_token,
        signing_key.key,
        algorithms=["RS256"],
        issuer=emulator.base_url,
        options={"verify_aud": False, "require": ["iss", "sub", "sid", "exp", "iat"]},
    )


# --------------------------------------------------------------------------------------
# The SDK's view of the emulator
# --------------------------------------------------------------------------------------


def test_sdk_base_url_with_or_without_trailing_slash(emulator: RunningEmulator) -> None:
    """The SDK keeps base_url with exactly one trailing slash and joins paths onto it, so both
    spellings give the same URLs."""
    for base in (emulator.base_url, emulator.base_url + "/"):
        sdk = workos.WorkOSClient(api_key=API_KEY, client_id=CLIENT_ID, base_url=base, max_retries=0)
        try:
            assert sdk.base_url == emulator.base_url + "/"
            url = sdk.user_management.get_authorization_url(redirect_uri=REDIRECT_URI, provider="authkit")
            assert url.startswith(emulator.base_url + "/user_management/authorize?"), url
            assert query_of(url) == {"provider": "authkit", "redirect_uri": REDIRECT_URI, "response_type": "code", "client_id": CLIENT_ID}
            assert sdk.user_management.get_jwks_url() == f"{emulator.base_url}/sso/jwks/{CLIENT_ID}"
        finally:
            sdk.close()


def test_authkit_sign_in_with_login_hint(emulator: RunningEmulator, client: workos.WorkOSClient) -> None:
    code, verifier = code_for(client, GRACE["email"], provider="authkit")
    answer = client.user_management.authenticate_with_code(code=code, code_verifier=verifier)
    assert isinstance(answer, AuthenticateResponse)
    user = answer.user
    assert (user.object, user.id, user.email, user.first_name, user.last_name) == ("user", GRACE["id"], GRACE["email"], "Grace", "Hopper")
    assert user.email_verified is True
    assert user.profile_picture_url is None and user.external_id is None
    assert user.created_at.tzinfo is not None and user.last_sign_in_at is not None
    assert answer.organization_id is None  # Grace belongs to no organization
    assert answer.authentication_method is not None and answer.authentication_method.value == "Password"
    assert answer.access_token.count(".") == 2 and answer.refresh_token

    claims = verified_claims(emulator, client, answer.access_token)
    assert claims["sub"] == GRACE["id"]
    assert claims["sid"].startswith("session_")
    assert "org_id" not in claims
    assert 0 < claims["exp"] - claims["iat"] <= 300


def test_authkit_signs_a_one_organization_user_in_to_it(client: workos.WorkOSClient) -> None:
    """Like hosted AuthKit: a member of exactly one organization lands in it; a member of several
    gets no organization (the emulator has no organization picker)."""
    code, verifier = code_for(client, ADA["email"], provider="authkit")
    assert client.user_management.authenticate_with_code(code=code, code_verifier=verifier).organization_id == ORG_X
    code, verifier = code_for(client, MULTI["email"], provider="authkit")
    assert client.user_management.authenticate_with_code(code=code, code_verifier=verifier).organization_id is None


def test_sdk_jwks_and_session_cookie_accept_the_access_token(emulator: RunningEmulator, emulator_client_with_issuer: workos.WorkOSClient) -> None:
    """The SDK's own verification (sealed session -> JWKS from base_url -> RS256 with the
    configured issuer -> the user-token claims it insists on: sid, auth_time) says yes."""
    client = emulator_client_with_issuer
    jwks = client.user_management.get_jwks(CLIENT_ID)
    assert len(jwks.keys) == 1 and jwks.keys[0].alg == "RS256" and jwks.keys[0].x_5_c
    code, verifier = code_for(client, ADA["email"], organization_id=ORG_X)
    answer = client.user_management.authenticate_with_code(code=code, code_verifier=verifier)
    assert jwt.get_unverified_header(answer.access_token)["kid"] == jwks.keys[0].kid
    password = "k" * 43 + "="  # a Fernet key: 32 bytes, url-safe base64
    sealed = seal_session_from_auth_response(
        access_token=answer.access_token, refresh_token=answer.refresh_token, user=answer.user.to_dict(), cookie_password=password
    )
    result = client.user_management.authenticate_with_session_cookie(session_data=sealed, cookie_password=password)
    assert result.authenticated is True, result
    assert result.organization_id == ORG_X
    assert result.role == "member"
    assert result.session_id == jwt.decode(answer.access_token, options={"verify_signature": False})["sid"]


@pytest.fixture()
def emulator_client_with_issuer(emulator: RunningEmulator) -> Iterator[workos.WorkOSClient]:
    sdk = workos.WorkOSClient(
        api_key=API_KEY, client_id=CLIENT_ID, base_url=emulator.base_url, jwt_issuer=emulator.base_url, max_retries=0
    )
    yield sdk
    sdk.close()


# --------------------------------------------------------------------------------------
# Organization and connection routing
# --------------------------------------------------------------------------------------


def test_organization_routing(emulator: RunningEmulator, client: workos.WorkOSClient) -> None:
    emulator.clear_journal()
    code, verifier = code_for(client, ADA["email"], organization_id=ORG_X)
    answer = client.user_management.authenticate_with_code(code=code, code_verifier=verifier)
    assert answer.organization_id == ORG_X
    assert answer.authentication_method.value == "SSO"
    claims = verified_claims(emulator, client, answer.access_token)
    assert claims["org_id"] == ORG_X and claims["role"] == "member"

    # Bob is a member of ORG_Y only: refused on an error page, no code.
    flow = start(client, organization_id=ORG_X)
    refused = httpx2.get(flow["url"] + "&login_hint=" + BOB["email"], timeout=HTTP_TIMEOUT_S)
    assert error_page(refused, 403) == "organization_membership_required"
    assert "not a member of organization" in refused.text

    # ... also when he picks himself on the sign-in form.
    pending = re.search(r'name="authorization" value="([^"]+)"', httpx2.get(start(client, organization_id=ORG_X)["url"], timeout=HTTP_TIMEOUT_S).text)
    assert pending
    posted = httpx2.post(emulator.base_url + "/user_management/authorize", data={"authorization": pending.group(1), "email": BOB["email"], "decision": "allow"}, timeout=HTTP_TIMEOUT_S)
    assert error_page(posted, 403) == "organization_membership_required"

    # An organization nobody knows.
    assert error_page(httpx2.get(start(client, organization_id="org_01NOPE")["url"], timeout=HTTP_TIMEOUT_S), 400) == "organization_not_found"

    authorizes = [e for e in emulator.journal() if e["path"] == "/user_management/authorize" and e["method"] == "GET"]
    assert authorizes and all(e["query"]["organization_id"] for e in authorizes)
    assert authorizes[0]["query"]["organization_id"] == ORG_X
    assert authorizes[0]["query"]["code_challenge_method"] == "S256"
    assert authorizes[0]["location"].startswith(REDIRECT_URI + "?code=%3Cpresent%3E")


def test_connection_routing(emulator: RunningEmulator, client: workos.WorkOSClient) -> None:
    code, verifier = code_for(client, ADA["email"], connection_id=CONN_X)
    answer = client.user_management.authenticate_with_code(code=code, code_verifier=verifier)
    assert answer.organization_id == ORG_X and answer.authentication_method.value == "SSO"

    refused = httpx2.get(start(client, connection_id=CONN_X)["url"] + "&login_hint=" + GRACE["email"], timeout=HTTP_TIMEOUT_S)
    assert error_page(refused, 403) == "organization_membership_required"

    # A connection of no organization takes anyone, and routes to no organization.
    code, verifier = code_for(client, GRACE["email"], connection_id=CONN_FREE)
    answer = client.user_management.authenticate_with_code(code=code, code_verifier=verifier)
    assert answer.user.id == GRACE["id"] and answer.organization_id is None

    assert error_page(httpx2.get(start(client, connection_id="conn_01NOPE")["url"], timeout=HTTP_TIMEOUT_S), 400) == "connection_not_found"
    journal = emulator.journal()
    assert any(e["query"].get("connection_id") == CONN_X for e in journal if e["path"] == "/user_management/authorize")


# --------------------------------------------------------------------------------------
# The sign-in page
# --------------------------------------------------------------------------------------


def _form(client: workos.WorkOSClient, **selector: str) -> tuple[dict[str, str], str]:
    flow = start(client, **selector)
    page = httpx2.get(flow["url"], timeout=HTTP_TIMEOUT_S)
    assert page.status_code == 200, page.text
    assert '<select id="email" name="email">' in page.text
    for user in USERS:
        assert f'<option value="{user["email"]}">' in page.text
    assert '<button type="submit" name="decision" value="allow">Continue</button>' in page.text
    assert '<button type="submit" name="decision" value="deny">Cancel</button>' in page.text
    pending = re.search(r'<input type="hidden" name="authorization" value="([^"]+)">', page.text)
    assert pending, page.text
    return flow, pending.group(1)


def test_sign_in_form_continue(emulator: RunningEmulator, client: workos.WorkOSClient) -> None:
    flow, pending = _form(client, provider="authkit")
    answer = redirected(httpx2.post(
        emulator.base_url + "/user_management/authorize",
        data={"authorization": pending, "email": BOB["email"], "decision": "allow"},
        timeout=HTTP_TIMEOUT_S,
    ))
    assert answer["state"] == flow["state"]
    result = client.user_management.authenticate_with_code(code=answer["code"], code_verifier=flow["code_verifier"])
    assert result.user.id == BOB["id"] and result.user.last_name is None and result.organization_id == ORG_Y

    # The page is single-use.
    again = httpx2.post(emulator.base_url + "/user_management/authorize", data={"authorization": pending, "email": BOB["email"], "decision": "allow"}, timeout=HTTP_TIMEOUT_S)
    assert error_page(again, 400) == "invalid_request"


def test_sign_in_form_cancel_is_access_denied(emulator: RunningEmulator, client: workos.WorkOSClient) -> None:
    flow, pending = _form(client, provider="authkit", redirect_uri=OTHER_REDIRECT_URI)
    answer = redirected(
        httpx2.post(emulator.base_url + "/user_management/authorize", data={"authorization": pending, "email": ADA["email"], "decision": "deny"}, timeout=HTTP_TIMEOUT_S),
        OTHER_REDIRECT_URI,
    )
    assert answer["error"] == "access_denied"
    assert answer["error_description"]
    assert answer["state"] == flow["state"]
    assert "code" not in answer


# --------------------------------------------------------------------------------------
# Refusals at /authorize
# --------------------------------------------------------------------------------------


def test_authorize_refusals(emulator: RunningEmulator, client: workos.WorkOSClient) -> None:
    flow = start(client, provider="authkit", redirect_uri="http://127.0.0.1:9/not-registered")
    refused = httpx2.get(flow["url"], timeout=HTTP_TIMEOUT_S)
    assert error_page(refused, 400) == "invalid_redirect_uri"
    assert "redirect URI not configured" in refused.text and "http://127.0.0.1:9/not-registered" in refused.text

    other = workos.WorkOSClient(api_key=API_KEY, client_id="client_01SOMEONEELSE", base_url=emulator.base_url, max_retries=0)
    try:
        assert error_page(httpx2.get(start(other, provider="authkit")["url"], timeout=HTTP_TIMEOUT_S), 400) == "invalid_client"
    finally:
        other.close()

    # The SDK builds these without complaint; the API wants exactly one of the three.
    none = client.user_management.get_authorization_url(redirect_uri=REDIRECT_URI)
    assert error_page(httpx2.get(none, timeout=HTTP_TIMEOUT_S), 400) == "invalid_request"
    both = client.user_management.get_authorization_url(redirect_uri=REDIRECT_URI, provider="authkit", organization_id=ORG_X)
    assert error_page(httpx2.get(both, timeout=HTTP_TIMEOUT_S), 400) == "invalid_request"
    assert error_page(httpx2.get(start(client, provider="NopeOAuth")["url"], timeout=HTTP_TIMEOUT_S), 400) == "invalid_request"

    plain = client.user_management.get_authorization_url(redirect_uri=REDIRECT_URI, provider="authkit", code_challenge="abc", code_challenge_method="plain")  # type: ignore[arg-type]
    assert error_page(httpx2.get(plain, timeout=HTTP_TIMEOUT_S), 400) == "invalid_request"
    token = client.user_management.get_authorization_url(redirect_uri=REDIRECT_URI, provider="authkit").replace("response_type=code", "response_type=token")
    assert error_page(httpx2.get(token, timeout=HTTP_TIMEOUT_S), 400) == "unsupported_response_type"
    unknown = httpx2.get(start(client, provider="authkit")["url"] + "&login_hint=nobody@example.com", timeout=HTTP_TIMEOUT_S)
    assert error_page(unknown, 400) == "user_not_found"


# --------------------------------------------------------------------------------------
# Refusals at /authenticate
# --------------------------------------------------------------------------------------


def test_refresh_token_works_and_rotates(emulator: RunningEmulator, client: workos.WorkOSClient) -> None:
    code, verifier = code_for(client, ADA["email"], organization_id=ORG_X)
    first = client.user_management.authenticate_with_code(code=code, code_verifier=verifier)
    second = client.user_management.authenticate_with_refresh_token(refresh_token=first.refresh_token)
    assert isinstance(second, AuthenticateResponse)
    assert second.user.id == ADA["id"] and second.organization_id == ORG_X
    assert second.refresh_token != first.refresh_token and second.access_token != first.access_token
    first_claims = verified_claims(emulator, client, first.access_token)
    second_claims = verified_claims(emulator, client, second.access_token)
    assert second_claims["sid"] == first_claims["sid"] and second_claims["org_id"] == ORG_X

    with pytest.raises(BadRequestError) as spent:
        client.user_management.authenticate_with_refresh_token(refresh_token=first.refresh_token)
    assert (spent.value.status_code, spent.value.error) == (400, "invalid_grant")
    third = client.user_management.authenticate_with_refresh_token(refresh_token=second.refresh_token)
    assert third.user.id == ADA["id"]
    with pytest.raises(BadRequestError) as unknown:
        client.user_management.authenticate_with_refresh_token(refresh_token="not-a-refresh-token")
    assert unknown.value.error == "invalid_grant"


def test_code_is_single_use(client: workos.WorkOSClient) -> None:
    code, verifier = code_for(client, GRACE["email"], provider="authkit")
    client.user_management.authenticate_with_code(code=code, code_verifier=verifier)
    with pytest.raises(BadRequestError) as replay:
        client.user_management.authenticate_with_code(code=code, code_verifier=verifier)
    assert (replay.value.status_code, replay.value.error) == (400, "invalid_grant")
    assert replay.value.error_description == "The code has expired or is invalid."
    assert replay.value.response_json == {"error": "invalid_grant", "error_description": "The code has expired or is invalid."}


def test_wrong_or_missing_pkce_verifier(client: workos.WorkOSClient) -> None:
    code, verifier = code_for(client, GRACE["email"], provider="authkit")
    with pytest.raises(BadRequestError) as wrong:
        client.user_management.authenticate_with_code(code=code, code_verifier=verifier[:-1] + ("A" if verifier[-1] != "A" else "B"))
    assert (wrong.value.status_code, wrong.value.error) == (400, "invalid_grant")
    assert "code_verifier" in (wrong.value.error_description or "")

    code, _ = code_for(client, GRACE["email"], provider="authkit")
    with pytest.raises(BadRequestError) as missing:
        client.user_management.authenticate_with_code(code=code)
    assert missing.value.error == "invalid_grant"


def test_wrong_api_key_is_invalid_client(emulator: RunningEmulator, client: workos.WorkOSClient) -> None:
    code, verifier = code_for(client, GRACE["email"], provider="authkit")
    impostor = workos.WorkOSClient(api_key="sk_test_wrong", client_id=CLIENT_ID, base_url=emulator.base_url, max_retries=0)
    try:
        with pytest.raises(AuthenticationError) as refused:
            impostor.user_management.authenticate_with_code(code=code, code_verifier=verifier)
        assert refused.value.status_code == 401
        assert refused.value.response_json == {"error": "invalid_client", "error_description": "Invalid client secret."}
        with pytest.raises(AuthenticationError) as refused_user:
            impostor.user_management.get_user(ADA["id"])
        assert refused_user.value.response_json == {"message": "Unauthorized"}
    finally:
        impostor.close()
    # Client authentication comes first: the code was not used up by the impostor.
    answer = client.user_management.authenticate_with_code(code=code, code_verifier=verifier)
    assert answer.user.id == GRACE["id"]


def test_mfa_user_gets_the_mfa_challenge(client: workos.WorkOSClient) -> None:
    code, verifier = code_for(client, MFA["email"], provider="authkit")
    with pytest.raises(MfaChallengeError) as challenge:
        client.user_management.authenticate_with_code(code=code, code_verifier=verifier)
    error = challenge.value
    assert isinstance(error, AuthenticationFlowError) and isinstance(error, AuthorizationError)
    assert error.status_code == 403 and error.code == "mfa_challenge"
    assert error.pending_authentication_token
    assert error.authentication_factors and error.authentication_factors[0]["type"] == "totp"
    assert error.authentication_factors[0]["id"].startswith("auth_factor_")
    assert error.user and error.user["id"] == MFA["id"]
    assert error.message == "The user must complete an MFA challenge to finish authenticating."


def test_denied_user_gets_email_verification_required(client: workos.WorkOSClient) -> None:
    code, verifier = code_for(client, DENIED["email"], provider="authkit")
    with pytest.raises(EmailVerificationRequiredError) as refused:
        client.user_management.authenticate_with_code(code=code, code_verifier=verifier)
    error = refused.value
    assert error.status_code == 403 and error.code == "email_verification_required"
    assert error.pending_authentication_token and error.email == DENIED["email"]
    assert error.email_verification_id and error.email_verification_id.startswith("email_verification_")


def test_expired_code_is_refused() -> None:
    """Codes live --code-ttl seconds (10 minutes unless told); this emulator is told 1 s."""
    for short_lived in _started(code_ttl=1):
        sdk = workos.WorkOSClient(api_key=API_KEY, client_id=CLIENT_ID, base_url=short_lived.base_url, max_retries=0)
        try:
            code, verifier = code_for(sdk, GRACE["email"], provider="authkit")
            time.sleep(1.2)
            with pytest.raises(BadRequestError) as expired:
                sdk.user_management.authenticate_with_code(code=code, code_verifier=verifier)
            assert expired.value.error == "invalid_grant"
        finally:
            sdk.close()


# --------------------------------------------------------------------------------------
# Users API and the journal
# --------------------------------------------------------------------------------------


def test_get_user(client: workos.WorkOSClient) -> None:
    user = client.user_management.get_user(ADA["id"])
    assert (user.id, user.email, user.first_name, user.last_name, user.email_verified) == (ADA["id"], ADA["email"], "Ada", "Lovelace", True)
    with pytest.raises(NotFoundError) as missing:
        client.user_management.get_user("user_01NOBODY")
    assert missing.value.code == "entity_not_found"


def test_list_users_and_get_organization(emulator: RunningEmulator, client: workos.WorkOSClient) -> None:
    """The two reads Gatehouse makes at start-up to check WORKOS_API_KEY and WORKOS_ORGANIZATION_ID
    parse in the SDK; a wrong key is refused there too."""
    listed = client.user_management.list_users(limit=1)
    assert len(listed.data) == 1 and listed.data[0].id.startswith("user_"), listed
    organization = client.organizations.get_organization(ORG_X)
    assert organization.id == ORG_X, organization
    with pytest.raises(NotFoundError):
        client.organizations.get_organization("org_01NOPE")
    impostor = workos.WorkOSClient(api_key="sk_test_wrong", client_id=CLIENT_ID, base_url=emulator.base_url, max_retries=0)
    with pytest.raises(AuthenticationError):
        impostor.user_management.list_users(limit=1)


def test_journal_keeps_requests_but_no_secrets(emulator: RunningEmulator, client: workos.WorkOSClient) -> None:
    emulator.clear_journal()
    code, verifier = code_for(client, ADA["email"], provider="authkit")
    answer = client.user_management.authenticate_with_code(code=code, code_verifier=verifier)
    client.user_management.authenticate_with_refresh_token(refresh_token=answer.refresh_token)
    journal = emulator.journal()
    assert [(e["method"], e["path"], e["status"]) for e in journal] == [
        ("GET", "/user_management/authorize", 302),
        ("POST", "/user_management/authenticate", 200),
        ("POST", "/user_management/authenticate", 200),
    ]
    authorize, by_code, by_refresh = journal
    assert authorize["query"]["provider"] == "authkit" and authorize["query"]["login_hint"] == ADA["email"]
    assert by_code["json"] == {
        "grant_type": "authorization_code", "code": "<present>", "client_id": CLIENT_ID,
        "client_secret": "<present>", "code_verifier": "<present>",
    }
    assert by_code["authorization"] == "Bearer"  # the SDK also sends the API key as a bearer token
    assert by_refresh["json"]["grant_type"] == "refresh_token" and by_refresh["json"]["refresh_token"] == "<present>"
    text = json.dumps(journal)
    for secret in (API_KEY, code, verifier, answer.refresh_token, answer.access_token):
        assert secret not in text
