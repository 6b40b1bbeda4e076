"""`gatehouse doctor url URL` against the gallery of broken deployments (peers/broken_deployment.py)
and against healthy deployments nobody here wrote.

The gallery is one server playing a protected MCP endpoint and its own authorization server,
healthy by default, with one fault switched on by name; each fault is named after the finding
the doctor must report. The gallery is checked first on its own, with httpx2 and without the
binary: healthy it is right by the specs (a whole OAuth flow works against it), and each fault
changes exactly what it names and nothing else. Then, with the binary:

  - every fault: its finding id is reported with its severity; exit status 1 exactly when some
    finding is an error, so 1 for the error faults and 0 for the warning ones (the fault is
    the only thing wrong, so nothing else may be an error);
  - the healthy gallery: exit 0, no error and no warning, challenge.ok, prm.ok, as.ok, cors.ok;
    no registration unless --register, and with it a real one (registration.ok);
  - healthy real deployments: a Gatehouse hub with its embedded authorization server, the
    official Python SDK's MCP server that is its own authorization server
    (peers/sdk_auth_server.py), FastMCP's RemoteAuthProvider + JWTVerifier for the gallery's
    authorization server (peers/fastmcp_remote_auth.py): no error findings;
  - the text output: findings grouped under their step, the fixes shown, no ANSI colour when
    stdout is not a terminal.

The binary runs as  <GATEHOUSE_BIN> doctor url <base>/mcp --json [--register]
(GATEHOUSE_BIN default: <repo>/.build/debug/gatehouse), bounded by DOCTOR_TIMEOUT_S.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import os
import re
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import jwt
import pytest

from conftest import DEFAULT_BIN, PeerServer, start_extra_server
from peers.broken_deployment import CLIENT_ORIGIN, FAULTS, BrokenDeployment

DOCTOR_TIMEOUT_S = 60
HTTP_TIMEOUT_S = 5.0
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
SEVERITIES = ("info", "warning", "error")
# What the doctor's CORS preflights ask for (step 4 of the probe).
PREFLIGHT_HEADERS = ("authorization", "content-type", "mcp-protocol-version", "mcp-session-id")
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "gallery-check", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}

# fault -> (the finding id the doctor must report, its severity)
EXPECTED: dict[str, tuple[str, str]] = {
    "no_bearer": ("challenge.no_bearer", "error"),
    "no_resource_metadata": ("challenge.no_resource_metadata", "warning"),
    "resource_metadata_relative": ("challenge.resource_metadata_relative", "error"),
    "prm_missing": ("prm.unreachable", "error"),
    "header_url_broken": ("prm.header_url_broken", "error"),
    "resource_mismatch": ("prm.resource_mismatch", "error"),
    "no_authorization_servers": ("prm.no_authorization_servers", "error"),
    "as_metadata_missing": ("as.metadata_missing", "error"),
    "issuer_mismatch": ("as.issuer_mismatch", "error"),
    "no_pkce_s256": ("as.no_pkce_s256", "error"),
    "no_registration": ("as.no_registration", "warning"),
    "token_error_html": ("as.token_error_not_json", "error"),
    "jwks_empty": ("as.jwks_no_keys", "error"),
    "jwks_unreachable": ("as.jwks_unreachable", "error"),
    "as_http_endpoint": ("as.http_endpoint", "error"),
    "preflight_needs_auth": ("cors.preflight_refused", "warning"),
    "preflight_redirect": ("cors.preflight_redirect", "error"),
    "cors_headers_missing": ("cors.headers_missing", "warning"),
    "metadata_not_readable": ("cors.metadata_not_readable", "warning"),
    "clock_skew": ("clock.skew", "warning"),
    "endpoint_redirect": ("endpoint.redirect", "error"),
    "unprotected": ("endpoint.unprotected", "warning"),
    "unprotected_bad_tool_names": ("tools.invalid_name", "warning"),
    "unprotected_no_origin_check": ("origin.not_validated", "warning"),
    "registration_refused": ("registration.refused", "error"),
}
# Faults only a real registration shows.
NEEDS_REGISTER = {"registration_refused"}


def test_every_fault_has_an_expected_finding() -> None:
    assert sorted(EXPECTED) == sorted(FAULTS)


# --------------------------------------------------------------------------------------
# Running the doctor
# --------------------------------------------------------------------------------------


@dataclass
class DoctorRun:
    argv: list[str]
    status: int
    stdout: str
    stderr: str
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def findings(self) -> list[dict[str, Any]]:
        return self.body.get("findings", [])

    @property
    def ids(self) -> list[str]:
        return [finding.get("id") for finding in self.findings]

    def with_severity(self, severity: str) -> list[dict[str, Any]]:
        return [finding for finding in self.findings if finding.get("severity") == severity]

    def finding(self, finding_id: str) -> dict[str, Any]:
        return next(finding for finding in self.findings if finding.get("id") == finding_id)

    def explain(self, deployment: BrokenDeployment | None = None) -> str:
        text = f"$ {' '.join(self.argv)}\nexit status {self.status}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        if deployment is not None:
            text += f"\n--- requests the gallery ({deployment.fault or 'healthy'}) saw ---\n{deployment.log_text()}"
        return text


def doctor(url: str, *extra: str, json_output: bool = True, env: dict[str, str | None] | None = None) -> DoctorRun:
    """Runs `gatehouse doctor url URL [--json] EXTRA…` with stdout a pipe (not a terminal), in this
    environment without GATEHOUSE_/HUB_/MCP_/WORKOS_ settings, changed by `env` (None: unset)."""
    binary = Path(os.environ.get("GATEHOUSE_BIN", str(DEFAULT_BIN))).resolve()
    if not binary.is_file():
        pytest.fail(f"gatehouse binary not found at {binary}; build it or set GATEHOUSE_BIN", pytrace=False)
    argv = [str(binary), "doctor", "url", url, *(["--json"] if json_output else []), *extra]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GATEHOUSE_", "HUB_", "MCP_", "WORKOS_"))}
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=DOCTOR_TIMEOUT_S, env=environment)
    run = DoctorRun(argv, done.returncode, done.stdout, done.stderr)
    if json_output:
        try:
            run.body = json.loads(done.stdout)
        except ValueError:
            pytest.fail(f"doctor url --json did not print JSON\n{run.explain()}", pytrace=False)
        check_report_shape(run, url)
    return run


def check_report_shape(run: DoctorRun, url: str) -> None:
    """{"url": URL, "findings": [{"id", "severity", "message", "fix", "step", "evidence"}]}, and the
    exit status the findings call for."""
    body = run.body
    assert body.get("url") == url, run.explain()
    assert isinstance(body.get("findings"), list), run.explain()
    for finding in run.findings:
        assert isinstance(finding.get("id"), str) and re.fullmatch(r"[a-z]+(\.[a-z0-9_]+)+", finding["id"]), run.explain()
        assert finding.get("severity") in SEVERITIES, run.explain()
        assert isinstance(finding.get("message"), str) and finding["message"].strip(), run.explain()
        assert isinstance(finding.get("step"), str) and finding["step"].strip(), run.explain()
        assert isinstance(finding.get("fix", ""), str), run.explain()
        assert isinstance(finding.get("evidence", {}), dict), run.explain()
        if finding["severity"] != "info":
            assert finding.get("fix", "").strip(), f"{finding['id']} says what is wrong but not what to do\n{run.explain()}"
    errors = run.with_severity("error")
    assert run.status == (1 if errors else 0), f"exit status {run.status} with {len(errors)} error finding(s)\n{run.explain()}"


def assert_no_errors(run: DoctorRun, *expected_ok: str) -> None:
    errors = [f"{f['id']}: {f['message']}" for f in run.with_severity("error")]
    assert not errors, "\n".join(errors) + "\n" + run.explain()
    assert run.status == 0, run.explain()
    for finding_id in expected_ok:
        assert finding_id in run.ids, run.explain()


# --------------------------------------------------------------------------------------
# The gallery on its own (no binary): healthy is right by the specs ...
# --------------------------------------------------------------------------------------


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def oauth_login(http: httpx2.Client, deployment: BrokenDeployment, resource: str) -> str:
    """Registers a public client with the gallery's authorization server, authorizes it (approved at
    once) with PKCE and the RFC 8707 resource, and exchanges the code; returns the access token."""
    metadata = http.get(deployment.as_metadata_url).json()
    redirect_uri = "http://127.0.0.1:9/callback"
    registered = http.post(
        metadata["registration_endpoint"],
        json={"client_name": "gallery-check", "redirect_uris": [redirect_uri], "token_endpoint_auth_method": "none",
              "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]},
    )
    assert registered.status_code == 201, registered.text
    client_id = registered.json()["client_id"]
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(8)
    authorized = http.get(
        metadata["authorization_endpoint"],
        params={"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state, "scope": "mcp",
                "code_challenge": challenge, "code_challenge_method": "S256", "resource": resource},
    )
    assert authorized.status_code == 302, authorized.text
    location = authorized.headers["location"]
    assert location.startswith(redirect_uri + "?"), location
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["state"] == state and query["iss"] == metadata["issuer"], query
    token = http.post(
        metadata["token_endpoint"],
        data={"grant_type": "authorization_code", "code": query["code"], "redirect_uri": redirect_uri, "client_id": client_id,
              "code_verifier": verifier, "resource": resource},
    )
    assert token.status_code == 200, token.text
    assert token.headers["cache-control"] == "no-store"
    assert token.json()["token_type"] == "Bearer"
    return token.json()["access_token"]


def allows(answer: httpx2.Response, origin: str = CLIENT_ORIGIN) -> bool:
    return answer.headers.get("access-control-allow-origin") in ("*", origin)


def preflight(http: httpx2.Client, url: str, method: str = "POST") -> httpx2.Response:
    return http.request(
        "OPTIONS", url,
        headers={"Origin": CLIENT_ORIGIN, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": ", ".join(PREFLIGHT_HEADERS)},
    )


def allowed_headers(answer: httpx2.Response) -> set[str]:
    return {h.strip().lower() for h in answer.headers.get("access-control-allow-headers", "").split(",") if h.strip()}


def test_broken_deployment_peer_is_healthy_by_default() -> None:
    with BrokenDeployment() as deployment, httpx2.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as http:
        base, mcp = deployment.base_url, deployment.mcp_url

        # 1. No token: 401 with an absolute resource_metadata in a Bearer challenge, readable cross-origin.
        answer = http.post(mcp, json=INITIALIZE, headers={**MCP_HEADERS, "Origin": CLIENT_ORIGIN})
        assert answer.status_code == 401, answer.text
        challenge = answer.headers["www-authenticate"]
        assert challenge.startswith("Bearer "), challenge
        match = re.search(r'resource_metadata="([^"]+)"', challenge)
        assert match and match.group(1) == base + "/.well-known/oauth-protected-resource/mcp", challenge
        assert "error=" not in challenge, "no error code when no token was sent (RFC 6750 §3.1)"
        assert allows(answer) and "www-authenticate" in answer.headers["access-control-expose-headers"].lower()

        # 2. Protected-resource metadata at the challenge's URL and both well-known forms.
        for url in (match.group(1), base + "/.well-known/oauth-protected-resource"):
            answer = http.get(url, headers={"Origin": CLIENT_ORIGIN})
            assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json"), url
            assert allows(answer), url
            document = answer.json()
            assert document["resource"] == mcp and document["authorization_servers"] == [base], document

        # 3. Authorization-server metadata (RFC 8414): exact issuer, S256, registration, JWKS.
        answer = http.get(base + "/.well-known/oauth-authorization-server", headers={"Origin": CLIENT_ORIGIN})
        assert answer.status_code == 200 and allows(answer)
        metadata = answer.json()
        assert metadata["issuer"] == base
        assert "S256" in metadata["code_challenge_methods_supported"]
        assert "code" in metadata["response_types_supported"]
        for endpoint in ("authorization_endpoint", "token_endpoint", "registration_endpoint", "jwks_uri"):
            assert metadata[endpoint].startswith(base + "/"), (endpoint, metadata)
        assert http.get(base + "/.well-known/openid-configuration").status_code == 404, "an OAuth AS, not an OpenID Provider"

        bogus = http.post(metadata["token_endpoint"], data={"grant_type": "authorization_code", "code": "bogus-" + secrets.token_hex(4),
                                                            "redirect_uri": "http://127.0.0.1:9/callback", "code_verifier": "x" * 43})
        assert bogus.status_code == 400 and bogus.headers["content-type"].startswith("application/json"), bogus.text
        assert bogus.json()["error"] == "invalid_grant" and bogus.headers["cache-control"] == "no-store"

        keys = http.get(metadata["jwks_uri"]).json()["keys"]
        assert len(keys) == 1 and keys[0]["kty"] == "EC" and keys[0]["crv"] == "P-256" and "d" not in keys[0], keys

        native = http.post(metadata["registration_endpoint"],
                           json={"client_name": "native", "redirect_uris": ["http://127.0.0.1:53682/callback"], "token_endpoint_auth_method": "none"})
        assert native.status_code == 201 and native.json()["client_id"] and "client_secret" not in native.json(), native.text
        confidential = http.post(metadata["registration_endpoint"], json={"redirect_uris": ["https://app.example/cb"]})
        assert confidential.status_code == 201 and confidential.json()["client_secret"], "client_secret_basic is RFC 7591's default"
        for refused in ({"redirect_uris": ["http://evil.example/cb"]}, {"redirect_uris": []}, {"client_name": "no uris"}):
            assert http.post(metadata["registration_endpoint"], json=refused).status_code == 400, refused

        # 4. CORS preflights before any auth, allowing the origin and the MCP headers, no redirect.
        for url in (mcp, match.group(1), base + "/.well-known/oauth-authorization-server", metadata["token_endpoint"]):
            answer = preflight(http, url)
            assert answer.status_code == 204 and "location" not in answer.headers, (url, answer.status_code)
            assert allows(answer), url
            assert set(PREFLIGHT_HEADERS) <= allowed_headers(answer), (url, answer.headers)
            assert "POST" in answer.headers["access-control-allow-methods"], url

        # 5. The clock.
        served = email.utils.parsedate_to_datetime(http.get(base + "/healthz").headers["date"]).timestamp()
        assert abs(served - time.time()) < 60

        # A real login: the token this AS issues opens the MCP endpoint (and nothing else does).
        token = oauth_login(http, deployment, mcp)
        claims = jwt.decode(token, jwt.PyJWK(keys[0]).key, algorithms=["ES256"], audience=mcp, issuer=base)
        assert claims["sub"] and claims["client_id"]
        bearer = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
        answer = http.post(mcp, json=INITIALIZE, headers=bearer)
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"]["protocolVersion"] == "2025-11-25"
        assert http.post(mcp, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=bearer).status_code == 202
        tools = http.post(mcp, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=bearer).json()["result"]["tools"]
        assert [tool["name"] for tool in tools] == ["get_weather"] and all(TOOL_NAME.match(tool["name"]) for tool in tools)
        called = http.post(mcp, json={"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
                           headers=bearer).json()
        assert called["result"]["content"][0]["text"] == "sunny in Oslo"
        refused = http.post(mcp, json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": "Bearer " + token[:-4] + "AAAA"})
        assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["www-authenticate"]
        other_audience = oauth_login(http, deployment, "https://elsewhere.example/mcp")
        assert http.post(mcp, json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {other_audience}"}).status_code == 401


# --------------------------------------------------------------------------------------
# ... and each fault changes exactly what it names
# --------------------------------------------------------------------------------------


def observe(deployment: BrokenDeployment) -> dict[str, Any]:
    """What a client sees of the deployment at fixed URLs, with the base URL replaced by <base>, so
    that two deployments (two ports) compare key by key."""
    base, mcp = deployment.base_url, deployment.mcp_url

    def strip(value: Any) -> Any:
        text = json.dumps(value).replace(base, "<base>").replace(str(deployment.port), "<port>")
        return json.loads(text)

    def cors(answer: httpx2.Response) -> dict[str, Any]:
        return {
            "status": answer.status_code,
            "allows origin": allows(answer),
            "allows MCP headers": set(PREFLIGHT_HEADERS) <= allowed_headers(answer),
            "location": strip(answer.headers.get("location")),
        }

    def document(answer: httpx2.Response) -> Any:
        return (answer.status_code, strip(answer.json()) if answer.headers.get("content-type", "").startswith("application/json") else answer.text)

    seen: dict[str, Any] = {}
    with httpx2.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as http:
        answer = http.post(mcp, json=INITIALIZE, headers=MCP_HEADERS)
        seen["mcp.status"] = answer.status_code
        seen["mcp.challenge"] = strip(answer.headers.get("www-authenticate"))
        seen["mcp.location"] = strip(answer.headers.get("location"))
        header_url = re.search(r'resource_metadata="([^"]+)"', answer.headers.get("www-authenticate", ""))
        absolute = header_url and header_url.group(1).startswith("http")
        seen["prm.header"] = http.get(header_url.group(1)).status_code if absolute else None
        seen["prm.path_aware"] = document(http.get(base + "/.well-known/oauth-protected-resource/mcp"))
        seen["prm.root"] = document(http.get(base + "/.well-known/oauth-protected-resource"))
        seen["as.metadata"] = document(http.get(base + "/.well-known/oauth-authorization-server"))
        seen["as.openid"] = http.get(base + "/.well-known/openid-configuration").status_code
        token = http.post(base + "/token", data={"grant_type": "authorization_code", "code": "bogus"})
        seen["as.token_error"] = (token.status_code, token.headers.get("content-type", "").split(";")[0],
                                  token.json().get("error") if token.headers.get("content-type", "").startswith("application/json") else None)
        jwks = http.get(base + "/jwks")
        seen["as.jwks"] = (jwks.status_code, len(jwks.json().get("keys", [])) if jwks.status_code == 200 else None)
        registered = http.post(base + "/register", json={"redirect_uris": ["http://127.0.0.1:9/callback"], "token_endpoint_auth_method": "none"})
        seen["register"] = (registered.status_code, "client_id" in registered.json() if registered.status_code == 201 else registered.json().get("error"))
        for name, url in (("mcp", mcp), ("prm", base + "/.well-known/oauth-protected-resource/mcp"),
                          ("as", base + "/.well-known/oauth-authorization-server"), ("token", base + "/token")):
            seen[f"preflight.{name}"] = cors(preflight(http, url))
        for name, url in (("prm", base + "/.well-known/oauth-protected-resource/mcp"), ("as", base + "/.well-known/oauth-authorization-server")):
            seen[f"cors.get.{name}"] = allows(http.get(url, headers={"Origin": CLIENT_ORIGIN}))
        served = email.utils.parsedate_to_datetime(http.get(base + "/healthz").headers["date"]).timestamp()
        seen["clock"] = "skewed" if abs(served - time.time()) > 60 else "ok"
        tools = http.post(mcp, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=MCP_HEADERS)
        seen["open.tools"] = [tool["name"] for tool in tools.json()["result"]["tools"]] if tools.status_code == 200 else None
        seen["open.evil_origin"] = http.post(mcp, json=INITIALIZE, headers={**MCP_HEADERS, "Origin": "https://evil.example"}).status_code
        seen["open.client_origin"] = http.post(mcp, json=INITIALIZE, headers={**MCP_HEADERS, "Origin": CLIENT_ORIGIN}).status_code
    return seen


CHALLENGE = {"mcp.challenge", "prm.header"}
PREFLIGHTS = {"preflight.mcp", "preflight.prm", "preflight.as", "preflight.token"}
OPEN = {"mcp.status", "mcp.challenge", "prm.header", "open.tools", "open.evil_origin", "open.client_origin"}
# fault -> (the deployment it is compared with: None = healthy, what differs)
DIFFERS: dict[str, tuple[str | None, set[str]]] = {
    "no_bearer": (None, CHALLENGE),
    "no_resource_metadata": (None, CHALLENGE),
    "resource_metadata_relative": (None, CHALLENGE),
    "prm_missing": (None, {"prm.header", "prm.path_aware", "prm.root"}),
    "header_url_broken": (None, CHALLENGE),
    "resource_mismatch": (None, {"prm.path_aware", "prm.root"}),
    "no_authorization_servers": (None, {"prm.path_aware", "prm.root"}),
    "as_metadata_missing": (None, {"as.metadata"}),
    "issuer_mismatch": (None, {"as.metadata"}),
    "no_pkce_s256": (None, {"as.metadata"}),
    "no_registration": (None, {"as.metadata", "register"}),
    "token_error_html": (None, {"as.token_error"}),
    "jwks_empty": (None, {"as.jwks"}),
    "jwks_unreachable": (None, {"as.jwks"}),
    "as_http_endpoint": (None, {"as.metadata"}),
    "preflight_needs_auth": (None, {"preflight.mcp"}),
    "preflight_redirect": (None, PREFLIGHTS),
    "cors_headers_missing": (None, PREFLIGHTS),
    "metadata_not_readable": (None, {"cors.get.prm", "cors.get.as"}),
    "clock_skew": (None, {"clock"}),
    "endpoint_redirect": (None, {"mcp.status", "mcp.location", *CHALLENGE, "open.evil_origin", "open.client_origin"}),
    "unprotected": (None, OPEN),
    "unprotected_bad_tool_names": ("unprotected", {"open.tools"}),
    "unprotected_no_origin_check": ("unprotected", {"open.evil_origin"}),
    "registration_refused": (None, {"register"}),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_changes_exactly_what_it_names(fault: str) -> None:
    baseline, expected = DIFFERS[fault]
    with BrokenDeployment(baseline) as reference:
        before = observe(reference)
    with BrokenDeployment(fault) as deployment:
        after = observe(deployment)
    changed = {key for key in before if before[key] != after[key]}
    detail = "\n".join(f"  {key}: {before[key]!r} -> {after[key]!r}" for key in sorted(changed | expected))
    assert changed == expected, f"{fault} ({FAULTS[fault]}) changed {sorted(changed)}, expected {sorted(expected)}\n{detail}"


def test_the_faults_break_things_the_way_they_say() -> None:
    """The values behind the differences above, for the faults where the value is the point."""
    observed = {}
    for fault in ("unprotected", "unprotected_bad_tool_names", "unprotected_no_origin_check", "endpoint_redirect", "preflight_redirect",
                  "no_bearer", "header_url_broken", "prm_missing", "as_http_endpoint", "issuer_mismatch", "token_error_html"):
        with BrokenDeployment(fault) as deployment:
            observed[fault] = observe(deployment)
    assert observed["unprotected"]["open.tools"] == ["get_weather"]
    assert observed["unprotected"]["open.evil_origin"] == 403 and observed["unprotected"]["open.client_origin"] == 200
    assert observed["unprotected_bad_tool_names"]["open.tools"] == ["get weather!"]
    assert observed["unprotected_no_origin_check"]["open.evil_origin"] == 200
    assert observed["endpoint_redirect"]["mcp.status"] == 307 and observed["endpoint_redirect"]["mcp.location"] == "<base>/mcp/"
    assert all(observed["preflight_redirect"][f"preflight.{n}"]["status"] == 308 for n in ("mcp", "prm", "as", "token"))
    assert observed["preflight_redirect"]["preflight.mcp"]["location"] == "https://127.0.0.1:<port>/mcp"
    assert observed["no_bearer"]["mcp.status"] == 401 and observed["no_bearer"]["mcp.challenge"] is None
    assert observed["header_url_broken"]["prm.header"] == 404
    assert observed["prm_missing"]["prm.header"] == 404 and observed["prm_missing"]["prm.root"][0] == 404
    assert observed["as_http_endpoint"]["as.metadata"][1]["token_endpoint"] == "http://auth.example.invalid/token"
    assert observed["issuer_mismatch"]["as.metadata"][1]["issuer"] == "http://localhost:<port>"
    assert observed["token_error_html"]["as.token_error"][:2] == (400, "text/html")


# --------------------------------------------------------------------------------------
# The doctor against the gallery
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_doctor_names_the_fault(fault: str) -> None:
    finding_id, severity = EXPECTED[fault]
    extra = ["--register"] if fault in NEEDS_REGISTER else []
    with BrokenDeployment(fault) as deployment:
        run = doctor(deployment.mcp_url, *extra)
        explanation = run.explain(deployment)
        assert finding_id in run.ids, f"{fault}: {FAULTS[fault]}\nexpected {finding_id}\n{explanation}"
        assert run.finding(finding_id)["severity"] == severity, explanation
        # The fault is the only thing wrong: an error fault fails the run, a warning one does not.
        assert run.status == (1 if severity == "error" else 0), explanation

        if fault == "endpoint_redirect":
            followed = [r for r in deployment.requests if r["path"] == "/mcp/"]
            assert not followed, f"the doctor followed the redirect\n{explanation}"
        if fault == "unprotected":
            assert "tools.invalid_name" not in run.ids and "origin.not_validated" not in run.ids, explanation
        if fault == "unprotected_bad_tool_names":
            assert "get weather!" in json.dumps(run.finding(finding_id)), explanation
        if fault != "registration_refused":
            assert not deployment.clients, f"registered a client without --register\n{explanation}"


def test_doctor_passes_the_healthy_gallery() -> None:
    with BrokenDeployment() as deployment:
        run = doctor(deployment.mcp_url)
        explanation = run.explain(deployment)
        assert_no_errors(run, "challenge.ok", "prm.ok", "as.ok", "cors.ok")
        warnings = [f"{f['id']}: {f['message']}" for f in run.with_severity("warning")]
        assert not warnings, "\n".join(warnings) + "\n" + explanation
        assert not deployment.clients and not any(r["path"] == "/register" for r in deployment.requests), (
            f"registered a client without --register\n{explanation}")


def test_doctor_registers_a_native_client_with_register() -> None:
    with BrokenDeployment() as deployment:
        run = doctor(deployment.mcp_url, "--register")
        explanation = run.explain(deployment)
        assert_no_errors(run, "registration.ok")
        assert run.finding("registration.ok")["severity"] == "info", explanation
        assert len(deployment.clients) == 1, explanation
        client = next(iter(deployment.clients.values()))
        assert client["redirect_uris"] and all(re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", uri) for uri in client["redirect_uris"]), client


# --------------------------------------------------------------------------------------
# The doctor against healthy deployments nobody here wrote
# --------------------------------------------------------------------------------------


def test_doctor_passes_a_gatehouse_hub() -> None:
    """A hub with its embedded authorization server (the default provider)."""
    hub = start_extra_server("doctor-hub", [])
    try:
        run = doctor(hub.mcp_url, "--register")
        assert_no_errors(run, "challenge.ok", "prm.ok", "as.ok", "registration.ok")
    finally:
        hub.stop(check=True)


def test_doctor_passes_the_python_sdk_auth_server(sdk_auth_peer: PeerServer) -> None:
    """The official SDK's MCPServer that is its own authorization server (its /register, /token …)."""
    run = doctor(sdk_auth_peer.mcp_url, "--register")
    assert_no_errors(run, "challenge.ok", "prm.ok", "as.ok", "registration.ok")


def test_doctor_passes_fastmcp_with_a_jwt_verifier() -> None:
    """FastMCP's RemoteAuthProvider + JWTVerifier for the gallery's (healthy) authorization server; a
    token from that server opens it, so the deployment really works, not only looks right."""
    with BrokenDeployment() as issuer:
        peer = PeerServer("fastmcp-remote-auth", "fastmcp_remote_auth.py", ["--issuer", issuer.issuer])
        try:
            peer.start()
        except RuntimeError as error:
            pytest.fail(str(error), pytrace=False)
        try:
            run = doctor(peer.mcp_url)
            assert_no_errors(run, "challenge.ok", "prm.ok", "as.ok")
            with httpx2.Client(timeout=HTTP_TIMEOUT_S) as http:
                token = oauth_login(http, issuer, peer.mcp_url)
                answer = http.post(peer.mcp_url, json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"})
                assert answer.status_code == 200, answer.text
        finally:
            peer.stop(check=True)


# --------------------------------------------------------------------------------------
# The text output
# --------------------------------------------------------------------------------------


def squash(text: str) -> str:
    return " ".join(text.split())


def test_text_output_groups_findings_by_step_with_fixes_and_no_colour() -> None:
    """Without --json: one heading per step, in the order the steps ran, each finding under its
    step with its fix; stdout is a pipe, so no ANSI escape codes (even with TERM set, NO_COLOR unset)."""
    with BrokenDeployment("issuer_mismatch") as deployment:
        reference = doctor(deployment.mcp_url)
        # A colour-capable TERM and nothing that turns colour off or on: only the pipe may stop it.
        text = doctor(deployment.mcp_url, json_output=False,
                      env={"TERM": "xterm-256color", "NO_COLOR": None, "CLICOLOR_FORCE": None, "FORCE_COLOR": None})
        explanation = text.explain(deployment) + "\n--- the same run with --json ---\n" + reference.stdout

    assert text.status == reference.status == 1, explanation
    assert "\x1b" not in text.stdout and "\x1b" not in text.stderr, f"ANSI escape codes in piped output\n{explanation}"

    steps: list[str] = []
    for finding in reference.findings:
        if finding["step"] not in steps:
            steps.append(finding["step"])
    assert len(steps) >= 3, explanation
    lines = text.stdout.splitlines()
    headings: dict[str, int] = {}
    for step in steps:
        at = [i for i, line in enumerate(lines) if line.strip().rstrip(":").lower() == step.lower()]
        assert len(at) == 1, f"step {step!r} should head exactly one group, found {len(at)}\n{explanation}"
        headings[step] = at[0]
    order = [headings[step] for step in steps]
    assert order == sorted(order), f"steps out of order {steps}\n{explanation}"

    bounds = sorted(headings.values()) + [len(lines)]
    with_fix = 0
    for finding in reference.findings:
        start = headings[finding["step"]]
        end = next(b for b in bounds if b > start)
        section = squash("\n".join(lines[start + 1:end]))
        assert squash(finding["message"]) in section, f"{finding['id']} is not under {finding['step']!r}\n{explanation}"
        if finding.get("fix"):
            with_fix += 1
            assert squash(finding["fix"]) in section, f"the fix of {finding['id']} is missing under {finding['step']!r}\n{explanation}"
    assert with_fix >= 1, explanation
    assert "as.issuer_mismatch" in reference.ids, explanation
