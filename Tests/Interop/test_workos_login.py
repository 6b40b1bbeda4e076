"""Signing in to Gatehouse's embedded authorization server through WorkOS User Management, against
the WorkOS emulator (peers/workos_emulator.py, checked against the official workos SDK in
test_workos_emulator.py).

A hub is configured as in production: WORKOS_CLIENT_ID and WORKOS_API_KEY in its environment (never
on the command line), GATEHOUSE_WORKOS_API_URL pointing at the emulator, optionally
WORKOS_ORGANIZATION_ID or WORKOS_CONNECTION_ID. Its callback, <hub>/auth/callback, is registered at
the emulator, so each hub object is made first (its port), then the emulator, then the hub starts
(it checks the API key, and the organization, against the emulator at start-up).

The person is httpx2 (Gatehouse's consent page, then the emulator's sign-in form) or, for the
official MCP SDK client, headless Chromium.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlencode

import httpx2
import pytest

from conftest import GatehouseServer
from browser import chromium_browser, keep_to_loopback
from peers.workos_emulator import RunningEmulator, workos_emulator
from test_client import BINARY
from test_embedded_login import FileTokenStorage, Traffic, call_whoami, make_provider, run_sdk
from test_hub import RawUser
from test_upstream_login import REDIRECT_URI, BrowserPerson, authorize_url, claims, pkce, query, redeem, register

HTTP_TIMEOUT_S = 10.0
PAGE_TIMEOUT_MS = 15_000

API_KEY = "sk_test_" + secrets.token_urlsafe(24)
CLIENT_ID = "client_01GATEHOUSEWORKOSTEST00"
ORG_X = "org_01XXXXXXXXXXXXXXXXXXXXXXXX"
ORG_Y = "org_01YYYYYYYYYYYYYYYYYYYYYYYY"
CONN_X = "conn_01XXXXXXXXXXXXXXXXXXXXXX"

GRACE = {"id": "user_01GRACE", "email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper", "organizations": []}
ADA = {"id": "user_01ADA", "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "organizations": [ORG_X]}
BOB = {"id": "user_01BOB", "email": "bob@example.com", "first_name": "Bob", "last_name": "Builder", "organizations": [ORG_Y]}
LINUS = {"id": "user_01LINUS", "email": "linus@example.com", "first_name": "Linus", "last_name": "Torvalds", "organizations": []}
KATHERINE = {"id": "user_01KATHERINE", "email": "katherine@example.com", "first_name": "Katherine", "last_name": "Johnson", "organizations": []}
MFA = {"id": "user_01MFA", "email": "mfa@example.com", "first_name": "Mo", "last_name": "Factor", "organizations": [], "mfa": True}
DENIED = {"id": "user_01DENIED", "email": "denied@example.com", "first_name": "Den", "last_name": "Ied", "organizations": [], "denied": True}
USERS = [GRACE, ADA, BOB, LINUS, KATHERINE, MFA, DENIED]


# ======================================================================================
# Fixtures and helpers
# ======================================================================================


def callback(hub: GatehouseServer) -> str:
    return hub.base_url + "/auth/callback"


def workos_hub(name: str, api_key: str = API_KEY, **settings: str) -> GatehouseServer:
    """A hub object (not started) whose people sign in through WorkOS; the API key is in its
    environment, not its command line. GATEHOUSE_WORKOS_API_URL is added once the emulator runs."""
    return GatehouseServer(name, [], env={"WORKOS_CLIENT_ID": CLIENT_ID, "WORKOS_API_KEY": api_key, **settings})


class World:
    """The emulator and three hubs registered at it (AuthKit, an organization, a connection),
    each started the first time a test asks for it."""

    def __init__(self, emulator: RunningEmulator, hubs: dict[str, GatehouseServer]) -> None:
        self.emulator, self.hubs = emulator, hubs

    def hub(self, kind: str) -> GatehouseServer:
        hub = self.hubs[kind]
        if hub.process is None:
            try:
                hub.start()
            except RuntimeError as error:
                pytest.fail(str(error), pytrace=False)
        return hub


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    hubs = {
        "authkit": workos_hub("workos-authkit"),
        "org": workos_hub("workos-org", WORKOS_ORGANIZATION_ID=ORG_X),
        "conn": workos_hub("workos-conn", WORKOS_CONNECTION_ID=CONN_X),
    }
    try:
        with workos_emulator(
            USERS, api_key=API_KEY, client_id=CLIENT_ID, redirect_uris=[callback(hub) for hub in hubs.values()],
            connections={CONN_X: ORG_X},
        ) as emulator:
            for hub in hubs.values():
                hub.extra_env["GATEHOUSE_WORKOS_API_URL"] = emulator.base_url
            try:
                yield World(emulator, hubs)
            finally:
                for hub in hubs.values():
                    if hub.process is not None:
                        hub.stop()
    finally:
        for hub in hubs.values():
            hub.workdir.cleanup()


@pytest.fixture
def emulator(world: World) -> RunningEmulator:
    return world.emulator


def consent(hub: GatehouseServer, emulator: RunningEmulator, http: httpx2.Client, client_id: str,
            state: str = "client-state") -> tuple[str, str]:
    """The browser at Gatehouse: the consent page, "Continue with WorkOS", and the 303 to WorkOS.
    Returns the WorkOS authorization URL and the client's PKCE verifier."""
    verifier, challenge = pkce()
    page = http.get(authorize_url(hub, client_id, challenge, state))
    assert page.status_code == 200 and "Continue with WorkOS" in page.text, page.text[:500]
    hidden = dict(re.findall(r'name="(request_id|csrf_token)" value="([^"]*)"', page.text))
    assert set(hidden) == {"request_id", "csrf_token"}, page.text[:500]
    to_workos = http.post(hub.base_url + "/authorize", data={**hidden, "decision": "approve"})
    assert to_workos.status_code == 303, to_workos.text[:300]
    location = to_workos.headers["location"]
    assert location.startswith(emulator.base_url + "/user_management/authorize?"), location
    return location, verifier


def at_workos_form(http: httpx2.Client, emulator: RunningEmulator, hub: GatehouseServer, location: str, email: str,
                   decision: str = "allow") -> str:
    """The browser at the emulator's sign-in page: picks `email` and presses Continue (allow) or
    Cancel (deny). Returns where WorkOS sends the browser: the hub's callback."""
    page = http.get(location)
    assert page.status_code == 200, page.text[:500]
    pending = re.search(r'<input type="hidden" name="authorization" value="([^"]+)">', page.text)
    assert pending and f'<option value="{email}">' in page.text, page.text[:800]
    answer = http.post(emulator.base_url + "/user_management/authorize",
                       data={"authorization": pending.group(1), "email": email, "decision": decision})
    assert answer.status_code == 302, answer.text[:500]
    back = answer.headers["location"]
    assert back.startswith(callback(hub) + "?"), back
    return back


def with_login_hint(http: httpx2.Client, hub: GatehouseServer, location: str, email: str) -> str:
    """The emulator's shortcut: with login_hint the user is signed in at once (no form)."""
    answer = http.get(location + "&" + urlencode({"login_hint": email}))
    assert answer.status_code == 302, answer.text[:500]
    back = answer.headers["location"]
    assert back.startswith(callback(hub) + "?"), back
    return back


def at_client(http: httpx2.Client, hub: GatehouseServer, back: str) -> dict[str, str]:
    """The browser at the hub's callback: Gatehouse redeems the code at WorkOS and sends the browser
    on to the client's redirect URI; returns that redirect's query."""
    done = http.get(back)
    assert done.status_code == 303, f"HTTP {done.status_code}: {done.text[:800]}"
    location = done.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return query(location)


def sign_in(world: World, kind: str, http: httpx2.Client, client_id: str, email: str, *, form: bool = True,
            state: str = "client-state") -> tuple[dict[str, str], str]:
    """The whole trip for `email` at hub `kind`: consent, WorkOS (the form or login_hint), callback.
    Returns the client redirect's query and the PKCE verifier."""
    hub = world.hub(kind)
    location, verifier = consent(hub, world.emulator, http, client_id, state)
    back = (at_workos_form(http, world.emulator, hub, location, email) if form
            else with_login_hint(http, hub, location, email))
    return at_client(http, hub, back), verifier


def journal_since(emulator: RunningEmulator, mark: int) -> list[dict[str, Any]]:
    return emulator.journal()[mark:]


def authorizes(entries: list[dict[str, Any]], hub: GatehouseServer) -> list[dict[str, Any]]:
    """The GET /user_management/authorize requests that carried `hub`'s callback."""
    return [e for e in entries if e["method"] == "GET" and e["path"] == "/user_management/authorize"
            and e["query"].get("redirect_uri") == callback(hub)]


def authenticates(entries: list[dict[str, Any]], grant_type: str) -> list[dict[str, Any]]:
    return [e for e in entries if e["method"] == "POST" and e["path"] == "/user_management/authenticate"
            and (e.get("json") or e.get("form") or {}).get("grant_type") == grant_type]


def refresh(hub: GatehouseServer, http: httpx2.Client, client_id: str, refresh_token: str) -> httpx2.Response:
    return http.post(hub.base_url + "/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id})


# ======================================================================================
# AuthKit (no organization configured)
# ======================================================================================


def test_authkit_sign_in_through_the_form(world: World, emulator: RunningEmulator) -> None:
    """Consent -> WorkOS AuthKit (provider=authkit, PKCE S256, our callback) -> the emulator's form
    -> callback -> the client's redirect with code, state and iss. Our tokens carry the WorkOS
    user's email and "First Last"; the hub provisions the person, linked by (API URL, user id)."""
    hub = world.hub("authkit")
    mark = len(emulator.journal())
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        client_id = register(hub, http, "workos-authkit-test")
        params, verifier = sign_in(world, "authkit", http, client_id, GRACE["email"], state="grace-state")
        assert params["state"] == "grace-state" and params["iss"] == hub.base_url and params["code"], params
        tokens = redeem(hub, http, client_id, params["code"], verifier)

        entries = journal_since(emulator, mark)
        [authorize] = authorizes(entries, hub)
        sent = authorize["query"]
        assert sent["provider"] == "authkit" and "organization_id" not in sent and "connection_id" not in sent, sent
        assert sent["client_id"] == CLIENT_ID and sent["response_type"] == "code", sent
        assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43 and sent["state"], sent
        assert authorize["status"] == 200  # the sign-in page
        [redeemed] = authenticates(entries, "authorization_code")
        assert redeemed["status"] == 200, redeemed
        assert redeemed["json"] == {"grant_type": "authorization_code", "code": "<present>", "code_verifier": "<present>",
                                    "client_id": CLIENT_ID, "client_secret": "<present>"}, redeemed

        token_claims = claims(tokens["access_token"])
        assert token_claims["email"] == GRACE["email"] and token_claims["name"] == "Grace Hopper", token_claims
        assert token_claims["iss"] == hub.base_url and token_claims["aud"] == hub.mcp_url, token_claims
        assert "org_id" not in token_claims, token_claims  # Grace belongs to no organization
        assert tokens["refresh_token"], tokens

        assert hub.query("SELECT email, name FROM idp_users WHERE email = ?", (GRACE["email"],)) == [(GRACE["email"], "Grace Hopper")]
        linked = hub.query(
            "SELECT i.issuer, i.subject FROM idp_upstream_identities i JOIN idp_users u ON u.id = i.user_id WHERE u.email = ?",
            (GRACE["email"],))
        assert linked == [(emulator.base_url, GRACE["id"])], linked
        sealed = hub.query("SELECT hex(s.sealed_tokens) FROM idp_login_sessions s JOIN idp_users u ON u.id = s.user_id WHERE u.email = ?",
                           (GRACE["email"],))
        assert len(sealed) == 1 and sealed[0][0].startswith(b"GHS1".hex().upper()), sealed

        whoami = RawUser(hub, tokens["access_token"], http, "grace").ok("whoami")["structuredContent"]
        assert whoami["email"] == GRACE["email"] and whoami["authenticated"] is True, whoami
        assert "organization_id" not in whoami, whoami
        assert hub.query("SELECT email, name, organization_id FROM users WHERE email = ?", (GRACE["email"],)) == [
            (GRACE["email"], "Grace Hopper", None)]


def test_authkit_signs_a_one_organization_user_in_to_it(world: World) -> None:
    """AuthKit itself puts a member of exactly one organization in it (the emulator does as hosted
    AuthKit): the hub has no organization configured, yet the token carries that org_id."""
    hub = world.hub("authkit")
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        client_id = register(hub, http, "workos-authkit-ada")
        params, verifier = sign_in(world, "authkit", http, client_id, ADA["email"], form=False)
        tokens = redeem(hub, http, client_id, params["code"], verifier)
        assert claims(tokens["access_token"])["org_id"] == ORG_X
        assert claims(tokens["access_token"])["name"] == "Ada Lovelace"


class ChromiumWorkOSPerson(BrowserPerson):
    """The SDK's redirect handler: a person who opens the authorization URL in headless Chromium,
    presses "Continue with WorkOS" on Gatehouse's consent page, picks their account on the
    emulator's sign-in form and presses Continue; the browser lands on the SDK's redirect URI."""

    def __init__(self, email: str) -> None:
        super().__init__()
        self.email = email
        self.workos_urls: list[str] = []

    def _sign_in(self, url: str) -> dict[str, str]:
        with chromium_browser() as browser:
            context = browser.new_context()
            keep_to_loopback(context)
            page = context.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            try:
                page.goto(url)
                assert page.get_by_role("heading").first.inner_text().startswith("Allow"), page.content()[:500]
                page.get_by_role("button", name="Continue with WorkOS").click()
                page.wait_for_url(re.compile(r".*/user_management/authorize\?.*"))
                self.workos_urls.append(page.url)
                page.select_option("select[name=email]", self.email)
                with page.expect_request(lambda request: request.url.startswith(REDIRECT_URI), timeout=PAGE_TIMEOUT_MS) as arrival:
                    page.get_by_role("button", name="Continue", exact=True).click(no_wait_after=True)
                return query(arrival.value.url)
            finally:
                context.close()



def test_python_sdk_signs_in_through_workos_in_chromium(world: World, emulator: RunningEmulator, tmp_path: Path) -> None:
    """The official MCP SDK discovers the hub, registers, and the person signs in through Gatehouse's
    consent page and the emulator's form in Chromium; whoami answers as the WorkOS user."""
    hub = world.hub("authkit")
    person = ChromiumWorkOSPerson(KATHERINE["email"])
    storage, traffic = FileTokenStorage(tmp_path / "oauth.json"), Traffic()
    whoami = run_sdk(hub, "auto", make_provider(hub, storage, person), traffic, call_whoami)
    assert whoami["email"] == KATHERINE["email"] and whoami["authenticated"] is True, whoami
    assert whoami["client_id"] == storage.client_id and whoami["issuer"] == hub.base_url, whoami
    sdk_params = query(person.authorization_urls[0])
    assert sdk_params["code_challenge_method"] == "S256" and sdk_params["resource"] == hub.mcp_url, sdk_params
    workos_params = query(person.workos_urls[0])
    assert workos_params["provider"] == "authkit" and workos_params["redirect_uri"] == callback(hub), workos_params
    assert claims(storage.access_token)["name"] == "Katherine Johnson"
    assert hub.query("SELECT email, name FROM users WHERE email = ?", (KATHERINE["email"],)) == [
        (KATHERINE["email"], "Katherine Johnson")]


# ======================================================================================
# Organization and connection routing
# ======================================================================================


def test_organization_routing(world: World, emulator: RunningEmulator) -> None:
    """WORKOS_ORGANIZATION_ID: the hub checked the organization at start-up, sends people to it
    (organization_id, not provider), and our token and whoami carry org_id; a refresh asks WorkOS
    for the same organization. A non-member is refused by WorkOS itself."""
    mark = len(emulator.journal())
    hub = world.hub("org")
    startup = journal_since(emulator, mark)
    probes = [(e["method"], e["path"], e["authorization"], e["status"]) for e in startup if e["method"] == "GET"]
    assert ("GET", "/user_management/users", "Bearer", 200) in probes, startup
    assert ("GET", f"/organizations/{ORG_X}", "Bearer", 200) in probes, startup

    mark = len(emulator.journal())
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        client_id = register(hub, http, "workos-org-test")
        params, verifier = sign_in(world, "org", http, client_id, ADA["email"], state="org-state")
        assert params["state"] == "org-state" and "code" in params, params
        tokens = redeem(hub, http, client_id, params["code"], verifier)
        [authorize] = authorizes(journal_since(emulator, mark), hub)
        assert authorize["query"]["organization_id"] == ORG_X, authorize
        assert "provider" not in authorize["query"] and "connection_id" not in authorize["query"], authorize
        assert authorize["query"]["code_challenge_method"] == "S256", authorize

        token_claims = claims(tokens["access_token"])
        assert token_claims["org_id"] == ORG_X and token_claims["email"] == ADA["email"], token_claims
        whoami = RawUser(hub, tokens["access_token"], http, "ada").ok("whoami")["structuredContent"]
        assert whoami["organization_id"] == ORG_X and whoami["email"] == ADA["email"], whoami
        assert hub.query("SELECT organization_id FROM users WHERE email = ?", (ADA["email"],)) == [(ORG_X,)]

        refreshed = refresh(hub, http, client_id, tokens["refresh_token"])
        assert refreshed.status_code == 200, refreshed.text
        assert claims(refreshed.json()["access_token"])["org_id"] == ORG_X
        [upstream_refresh] = authenticates(journal_since(emulator, mark), "refresh_token")
        assert upstream_refresh["status"] == 200 and upstream_refresh["json"]["organization_id"] == ORG_X, upstream_refresh

    # Bob (another browser) is no member of ORG_X: WorkOS shows an error page, sends nobody back.
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        location, _ = consent(hub, emulator, http, client_id)
        refused = http.get(location + "&" + urlencode({"login_hint": BOB["email"]}))
        assert refused.status_code == 403 and "location" not in refused.headers, refused.text[:300]


def test_connection_routing(world: World, emulator: RunningEmulator) -> None:
    """WORKOS_CONNECTION_ID: people go to that SSO connection (connection_id, not provider nor
    organization_id); the connection's organization ends up in the token."""
    hub = world.hub("conn")
    mark = len(emulator.journal())
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        client_id = register(hub, http, "workos-conn-test")
        params, verifier = sign_in(world, "conn", http, client_id, ADA["email"], form=False)
        tokens = redeem(hub, http, client_id, params["code"], verifier)
    [authorize] = authorizes(journal_since(emulator, mark), hub)
    assert authorize["query"]["connection_id"] == CONN_X, authorize
    assert "provider" not in authorize["query"] and "organization_id" not in authorize["query"], authorize
    assert claims(tokens["access_token"])["org_id"] == ORG_X


# ======================================================================================
# Sign-ins WorkOS does not finish
# ======================================================================================


def test_mfa_and_email_verification_become_access_denied(world: World, emulator: RunningEmulator) -> None:
    """WorkOS answers the code of an MFA user with mfa_challenge and of an unverified one with
    email_verification_required (403): the client gets access_denied with its state and a
    description that says why; nobody is provisioned."""
    hub = world.hub("authkit")
    mark = len(emulator.journal())
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        client_id = register(hub, http, "workos-refusals")
        mfa, _ = sign_in(world, "authkit", http, client_id, MFA["email"], state="mfa-state")
        assert mfa["error"] == "access_denied" and mfa["state"] == "mfa-state" and "code" not in mfa, mfa
        assert "second factor" in mfa["error_description"], mfa
        assert mfa["iss"] == hub.base_url, mfa
        denied, _ = sign_in(world, "authkit", http, client_id, DENIED["email"], state="denied-state", form=False)
        assert denied["error"] == "access_denied" and denied["state"] == "denied-state" and "code" not in denied, denied
        assert "verify their email" in denied["error_description"], denied
    answers = [(e["status"], e["json"]["grant_type"]) for e in authenticates(journal_since(emulator, mark), "authorization_code")]
    assert answers == [(403, "authorization_code"), (403, "authorization_code")], answers
    assert hub.query("SELECT count(*) FROM idp_users WHERE email IN (?, ?)", (MFA["email"], DENIED["email"])) == [(0,)]


def test_cancelling_at_workos_is_access_denied_at_the_client(world: World, emulator: RunningEmulator) -> None:
    hub = world.hub("authkit")
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        client_id = register(hub, http, "workos-cancel")
        location, _ = consent(hub, emulator, http, client_id, state="cancel-state")
        back = at_workos_form(http, emulator, hub, location, LINUS["email"], decision="deny")
        assert query(back)["error"] == "access_denied", back
        params = at_client(http, hub, back)
    assert params["error"] == "access_denied" and params["state"] == "cancel-state" and "code" not in params, params
    assert "WorkOS" in params["error_description"] and "cancelled" in params["error_description"], params


# ======================================================================================
# Refresh
# ======================================================================================


def test_refresh_rechecks_workos_whose_refresh_tokens_rotate(world: World, emulator: RunningEmulator) -> None:
    """Each refresh of our tokens refreshes the WorkOS login (grant_type refresh_token); WorkOS
    rotates its refresh token every time (the one presented stops working), so the second refresh
    only succeeds when Gatehouse kept the rotated one."""
    hub = world.hub("authkit")
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        client_id = register(hub, http, "workos-refresh")
        params, verifier = sign_in(world, "authkit", http, client_id, LINUS["email"], form=False)
        tokens = redeem(hub, http, client_id, params["code"], verifier)
        mark = len(emulator.journal())
        first = refresh(hub, http, client_id, tokens["refresh_token"])
        assert first.status_code == 200, first.text
        second = refresh(hub, http, client_id, first.json()["refresh_token"])
        assert second.status_code == 200, second.text
        assert len({tokens["refresh_token"], first.json()["refresh_token"], second.json()["refresh_token"]}) == 3
        assert claims(second.json()["access_token"])["email"] == LINUS["email"]
        upstream = authenticates(journal_since(emulator, mark), "refresh_token")
        assert [e["status"] for e in upstream] == [200, 200], upstream
        assert all(e["json"]["refresh_token"] == "<present>" and e["json"]["client_secret"] == "<present>" for e in upstream)
        assert all("organization_id" not in e["json"] for e in upstream), upstream
        whoami = RawUser(hub, second.json()["access_token"], http, "linus").ok("whoami")["structuredContent"]
        assert whoami["email"] == LINUS["email"], whoami


# ======================================================================================
# Start-up and secrets
# ======================================================================================


def test_a_wrong_api_key_stops_start_up(world: World, emulator: RunningEmulator) -> None:
    """The hub checks WORKOS_API_KEY at start-up (GET /user_management/users?limit=1): refused, it
    exits non-zero naming the setting, without printing the key."""
    wrong_key = "sk_test_wrong_" + secrets.token_urlsafe(12)
    server = workos_hub("workos-wrong-key", api_key=wrong_key, GATEHOUSE_WORKOS_API_URL=emulator.base_url)
    mark = len(emulator.journal())
    try:
        with pytest.raises(RuntimeError) as failed:
            server.start()
        message = str(failed.value)
        assert "exited with code" in message and "WORKOS_API_KEY" in message, message
        assert wrong_key not in message, message
    finally:
        server.stop(check=False)
    probes = [(e["path"], e["query"], e["authorization"], e["status"]) for e in journal_since(emulator, mark)]
    assert probes == [("/user_management/users", {"limit": "1"}, "Bearer", 401)], probes


def test_an_unknown_organization_stops_start_up(tmp_path: Path, world: World, emulator: RunningEmulator) -> None:
    """A WORKOS_ORGANIZATION_ID that WorkOS does not know stops start-up too (the binary run
    directly, with a bounded timeout)."""
    process = subprocess.run(
        [str(BINARY), "hub", "--host", "127.0.0.1", "--port", "0", "--database-path", str(tmp_path / "hub.db")],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "WORKOS_CLIENT_ID": CLIENT_ID, "WORKOS_API_KEY": API_KEY,
             "GATEHOUSE_WORKOS_API_URL": emulator.base_url, "WORKOS_ORGANIZATION_ID": "org_01NOPE"})
    output = process.stdout + process.stderr
    assert process.returncode != 0, output
    assert "WORKOS_ORGANIZATION_ID" in output and "org_01NOPE" in output, output
    assert API_KEY not in output


def test_the_api_key_never_reaches_the_log(world: World) -> None:
    """After sign-ins, refusals and refreshes (the tests above, or at least one sign-in here), the
    hubs' logs (debug level) never show the API key; the command line carried none."""
    hub = world.hub("authkit")
    with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
        client_id = register(hub, http, "workos-log")
        params, verifier = sign_in(world, "authkit", http, client_id, GRACE["email"], form=False)
        tokens = redeem(hub, http, client_id, params["code"], verifier)
        assert refresh(hub, http, client_id, tokens["refresh_token"]).status_code == 200
    for server in world.hubs.values():
        if server.process is None:
            continue
        log = server.log_text()
        assert log.startswith("$ ") and "WORKOS" not in log.splitlines()[0], log.splitlines()[0]
        assert API_KEY not in log, f"{server.name} logged the WorkOS API key"
        assert API_KEY[len("sk_test_"):] not in log
