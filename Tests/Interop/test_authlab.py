"""Third-party conformance scan: mcp-authlab (PyPI, pinned in requirements.txt) against the hubs.

`mcp-authlab scan` probes the MCP endpoint's authorization the way the MCP spec (2025-06-18)
describes it: challenge, RFC 9728 metadata, RFC 8414 metadata of the advertised issuer, token
validation (malformed, alg none, foreign audience, query string), sessions, Origin and the
protocol-version header. It grades the server; `--fail-under A` makes a lower grade exit 2.

The grade alone hides skipped checks (a token the server rejects skips most of them and can
still score A), so the JSON report is asserted as well.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import GatehouseServer
from test_issuer import LocalIssuer, decode_unverified

SCAN_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = "5"
# Sections whose checks must all run and none fail.
GATED_SECTIONS = ("TOK", "CHAL", "PRM", "SCOPE", "ORIG")
# Checks that must run, not skip: a skipped token check means the scan did not really test
# token handling (for example because the hub refused the token), yet the grade can still be A.
MUST_RUN = (
    "CHAL-01", "CHAL-02", "CHAL-03",
    "PRM-01", "PRM-02", "PRM-03", "PRM-04", "PRM-05", "PRM-06",
    "TOK-01", "TOK-02", "TOK-03", "TOK-04", "TOK-05", "TOK-06",
    "SCOPE-01", "ORIG-01", "SESS-01", "SESS-02", "VER-01",
    "ASM-01", "ASM-02", "ASM-03", "ASM-04", "ASM-05", "ASM-06",
)  # fmt: skip


def authlab_command() -> list[str]:
    if importlib.util.find_spec("mcp_authlab") is None:
        pytest.fail(
            "mcp-authlab is not installed in this Python; pip install -r Tests/Interop/requirements.txt",
            pytrace=False,
        )
    script = Path(sys.executable).parent / "mcp-authlab"
    if script.is_file():
        return [str(script)]
    found = shutil.which("mcp-authlab")
    return [found] if found else [sys.executable, "-m", "mcp_authlab"]


def authlab_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_AUTHLAB_")}
    # Keep its token store out of $HOME, and keep loopback traffic away from any proxy.
    env["MCP_AUTHLAB_TOKENS"] = str(tmp_path / "authlab-tokens.json")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    for name in ("no_proxy", "NO_PROXY"):
        env[name] = ",".join(filter(None, [env.get(name, ""), "127.0.0.1", "localhost"]))
    return env


def run_authlab(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    argv = authlab_command() + args
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=SCAN_TIMEOUT_S,
            env=authlab_env(tmp_path),
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(
            f"mcp-authlab did not finish within {SCAN_TIMEOUT_S:.0f} s: {argv[:3]}\n{error.stderr!r}", pytrace=False
        )


def scan(url: str, report_path: Path, tmp_path: Path, *token_args: str) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """`mcp-authlab scan URL` graded against A, its JSON report written to `report_path` and loaded.

    `token_args` supplies tokens (`--no-login --token … --foreign-token …`); without them authlab
    uses the tokens its own `login` stored."""
    process = run_authlab(
        ["scan", url, *token_args, "--format", "json", "-o", str(report_path), "--fail-under", "A", "--no-color",
         "--timeout", REQUEST_TIMEOUT_S],  # fmt: skip
        tmp_path,
    )
    return load_report(report_path, process), process


def summary(report: dict[str, Any], process: subprocess.CompletedProcess[str]) -> str:
    lines = [
        f"exit code {process.returncode}",
        f"grade {report.get('grade')} score {report.get('score')} ({report.get('conformance')}), "
        f"{report.get('coverage', {}).get('line')}",
        f"counts {report.get('counts')}",
        f"reasons {report.get('reasons')}",
        f"critical_failures {report.get('critical_failures')} must_failures {report.get('must_failures')} "
        f"warnings {report.get('warnings')} critical_not_run {report.get('coverage', {}).get('critical_not_run')}",
        "results:",
    ]
    for result in report.get("results", []):
        lines.append(f"  {result['id']:<9} {result['status']:<5} {result['message']}")
        if result["status"] in ("fail", "error", "warn") and result.get("evidence"):
            lines.append(f"            evidence: {json.dumps(result['evidence'])[:600]}")
    lines += ["stderr:", process.stderr[-3000:], "stdout:", process.stdout[-2000:]]
    return "\n".join(lines)


def load_report(path: Path, process: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert path.is_file(), (
        f"mcp-authlab wrote no report (exit {process.returncode})\nstderr:\n{process.stderr[-3000:]}\n"
        f"stdout:\n{process.stdout[-2000:]}"
    )
    return json.loads(path.read_text())


def assert_conformant(
    report: dict[str, Any], process: subprocess.CompletedProcess[str], allowed_warnings: set[str]
) -> dict[str, dict[str, Any]]:
    """The assertions shared by every scan; returns the results by id."""
    text = summary(report, process)
    results = {r["id"]: r for r in report["results"]}
    assert process.returncode == 0, f"mcp-authlab exited {process.returncode}\n{text}"
    assert report["grade"] == "A", text
    assert report["counts"]["fail"] == 0 and report["counts"]["error"] == 0, text
    assert report["coverage"]["critical_not_run"] == [], text
    assert report["critical_failures"] == [] and report["must_failures"] == [], text
    gated_bad = [
        f"{r['id']}={r['status']}"
        for r in report["results"]
        if r["id"].split("-")[0] in GATED_SECTIONS and r["status"] in ("fail", "error")
    ]
    assert not gated_bad, f"failed checks in {GATED_SECTIONS}: {gated_bad}\n{text}"
    not_run = [f"{cid}={results[cid]['status'] if cid in results else 'missing'}" for cid in MUST_RUN
               if cid not in results or results[cid]["status"] not in ("pass", "warn")]  # fmt: skip
    assert not not_run, f"checks that did not run: {not_run}\n{text}"
    unexpected = sorted(set(report["warnings"]) - allowed_warnings)
    assert not unexpected, f"unexpected warnings {unexpected} (allowed: {sorted(allowed_warnings)})\n{text}"
    return results


# TLS-01 warns for plain http on loopback, which is what a local test server is. CHAL-03 warns
# when a 401 names no scope: the plain JWT hub requires none, so it has none to name.
ALLOWED_WARNINGS = {"jwt": {"TLS-01", "CHAL-03"}, "scoped": {"TLS-01"}}


@pytest.mark.parametrize("hub", ["jwt", "scoped"])
def test_authlab_scan_with_minted_tokens(request: pytest.FixtureRequest, tmp_path: Path, hub: str) -> None:
    server: GatehouseServer = request.getfixturevalue("gatehouse_jwt" if hub == "jwt" else "gatehouse_scoped")
    the_issuer: LocalIssuer = request.getfixturevalue("issuer" if hub == "jwt" else "scoped_issuer")
    token = the_issuer.mint("user-authlab", server.mcp_url, scope="mcp:read mcp:write", exp_in=600)
    foreign = the_issuer.mint("user-authlab", "https://other.example/mcp", scope="mcp:read mcp:write", exp_in=600)
    report, process = scan(
        server.mcp_url, tmp_path / "authlab.json", tmp_path, "--no-login", "--token", token, "--foreign-token", foreign
    )
    results = assert_conformant(report, process, ALLOWED_WARNINGS[hub])
    assert report["canonical"] == server.mcp_url, report["canonical"]
    for cid in ("TOK-02", "TOK-03", "TOK-06", "SESS-01", "ORIG-01"):
        assert results[cid]["status"] == "pass", summary(report, process)
    if hub == "scoped":
        assert results["CHAL-03"]["status"] == "pass", summary(report, process)


def test_authlab_login_then_full_scan(gatehouse_jwt: GatehouseServer, issuer: LocalIssuer, tmp_path: Path) -> None:
    """authlab's own OAuth client logs in (discovery from the hub, DCR, PKCE, RFC 8707 resource,
    a second token for a foreign resource), then a scan uses those tokens: all 33 checks run."""
    login = run_authlab(
        ["login", gatehouse_jwt.mcp_url, "--no-browser", "--timeout", "20", "--http-timeout", REQUEST_TIMEOUT_S],
        tmp_path,
    )
    assert login.returncode == 0, (
        f"mcp-authlab login exited {login.returncode}\n{login.stdout[-3000:]}\n{login.stderr[-3000:]}"
    )
    store = json.loads((tmp_path / "authlab-tokens.json").read_text())
    assert gatehouse_jwt.mcp_url in json.dumps(store)

    report, process = scan(gatehouse_jwt.mcp_url, tmp_path / "authlab-login.json", tmp_path)
    results = assert_conformant(report, process, ALLOWED_WARNINGS["jwt"])
    coverage = report["coverage"]
    assert coverage["ran"] == coverage["applicable"], summary(report, process)
    asf = {cid: r["status"] for cid, r in results.items() if cid.startswith("ASF-")}
    assert asf and set(asf.values()) == {"pass"}, summary(report, process)
    # The token authlab's login got is the one the hub accepted (TOK-06).
    tokens = [decode_unverified(t) for t in _jwts_in(store)]
    assert any(c.get("aud") == gatehouse_jwt.mcp_url and c.get("iss") == issuer.issuer for c in tokens), tokens


def _jwts_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.count(".") == 2 and value.startswith("eyJ") else []
    if isinstance(value, dict):
        return [t for v in value.values() for t in _jwts_in(v)]
    if isinstance(value, list):
        return [t for v in value for t in _jwts_in(v)]
    return []


# --------------------------------------------------------------------------------------
# The embedded authorization server (the hub's default provider)
# --------------------------------------------------------------------------------------
#
# authlab's `login --no-browser` fetches the authorization URL itself when the authorization
# server is on loopback and follows the redirect to its own callback, so it needs a hub that
# approves without a page: `--dev-auto-approve` (every sign-in is dev@localhost). A real user's
# sign-in on the page is played by a "browser" command (authlab opens the URL with Python's
# webbrowser, which runs $BROWSER) that fills in the form as alice.
#
# TOK-03 needs a token minted for another resource of the same authorization server. The
# embedded server issues tokens only for the hub's own MCP endpoint and for the URLs named with
# --resource (other MCP servers that trust it), so these hubs name a second one, OTHER_PATH, and
# authlab's login asks for it with --foreign-resource. The hub's /mcp must refuse that token.

OTHER_PATH = "/other/mcp"
DEV_USER = "dev@localhost"
ALICE, ALICE_PASSWORD = "alice@example.com", "correct horse battery staple"


def _embedded_hub(name: str, extra: list[str], users: tuple[tuple[str, str], ...] = ()):
    server = GatehouseServer(name, [])
    # The port is known only now; the hub reads extra_args when it starts.
    server.extra_args = ["--provider", "embedded", "--resource", server.base_url + OTHER_PATH, *extra]
    try:
        for email, password in users:
            server.add_user(email, email.split("@")[0].title(), password)
        server.start()
    except (RuntimeError, AssertionError) as error:
        server.stop(check=False)
        pytest.fail(f"could not start the {name} hub: {error}\n{server.log_text()}", pytrace=False)
    try:
        yield server
    finally:
        server.stop(check=True)


@pytest.fixture(scope="module")
def embedded_auto():
    """Embedded authorization server that approves every request as dev@localhost, no page."""
    yield from _embedded_hub("embedded-auto", ["--dev-auto-approve"])


@pytest.fixture(scope="module")
def embedded_auto_scoped():
    """The same, with the scope mcp:read required on every request (so the 401 names it)."""
    yield from _embedded_hub("embedded-auto-scoped", ["--dev-auto-approve", "--required-scopes", "mcp:read"])


@pytest.fixture(scope="module")
def embedded_page():
    """Embedded authorization server with its sign-in page and the user alice."""
    yield from _embedded_hub("embedded-page", [], users=((ALICE, ALICE_PASSWORD),))


def authlab_login(server: GatehouseServer, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    login = run_authlab(
        ["login", server.mcp_url, "--foreign-resource", server.base_url + OTHER_PATH, "--timeout", "20",
         "--http-timeout", REQUEST_TIMEOUT_S, "--no-color", *extra],  # fmt: skip
        tmp_path,
    )
    assert login.returncode == 0, (
        f"mcp-authlab login exited {login.returncode}\n{login.stdout[-3000:]}\n{login.stderr[-3000:]}"
    )
    return login


def stored_entry(server: GatehouseServer, tmp_path: Path) -> dict[str, Any]:
    store = json.loads((tmp_path / "authlab-tokens.json").read_text())
    entries = [v for v in _entries(store) if v.get("resource") == server.mcp_url]
    assert len(entries) == 1, f"no single token store entry for {server.mcp_url}: {json.dumps(store)[:2000]}"
    return entries[0]


def _entries(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return ([value] if "access_token" in value and "resource" in value else []) + [
            e for v in value.values() for e in _entries(v)
        ]
    if isinstance(value, list):
        return [e for v in value for e in _entries(v)]
    return []


def assert_login_flow_checks(entry: dict[str, Any], login: subprocess.CompletedProcess[str]) -> None:
    """authlab's authorization server probes (ASF-01..06) all ran and passed, and both tokens
    are bound to the resource they were asked for (RFC 8707)."""
    asf = {r["id"]: r for r in entry["asf"]}
    text = login.stdout[-3000:] + "\n" + login.stderr[-3000:]
    assert sorted(asf) == [f"ASF-0{i}" for i in range(1, 7)], text
    bad = {cid: f"{r['status']}: {r['message']}" for cid, r in asf.items() if r["status"] != "pass"}
    assert not bad, f"authorization server flow checks not passed: {bad}\n{text}"
    assert entry["foreign"]["usable"] is True, f"no usable foreign-audience token: {entry['foreign']}\n{text}"


@pytest.mark.parametrize("hub", ["embedded", "embedded-scoped"])
def test_authlab_login_then_full_scan_embedded(request: pytest.FixtureRequest, tmp_path: Path, hub: str) -> None:
    """authlab logs in to the hub's own authorization server (discovery, DCR, PKCE, RFC 8707,
    RFC 9207 iss, refresh rotation, a second token for OTHER_PATH), then scans: all 33 checks run,
    grade A, nothing failed. The only warnings allowed are plain http on loopback and, without
    required scopes, a 401 that names none."""
    server: GatehouseServer = request.getfixturevalue("embedded_auto" if hub == "embedded" else "embedded_auto_scoped")
    login = authlab_login(server, tmp_path, "--no-browser")
    entry = stored_entry(server, tmp_path)
    assert_login_flow_checks(entry, login)
    claims = decode_unverified(entry["access_token"])
    assert claims["iss"] == server.base_url and claims["aud"] in (server.mcp_url, [server.mcp_url]), claims
    assert claims.get("email") == DEV_USER, claims
    foreign = decode_unverified(entry["foreign"]["access_token"])
    assert foreign["aud"] in (server.base_url + OTHER_PATH, [server.base_url + OTHER_PATH]), foreign

    report, process = scan(server.mcp_url, tmp_path / "authlab-embedded.json", tmp_path)
    results = assert_conformant(report, process, ALLOWED_WARNINGS["jwt" if hub == "embedded" else "scoped"])
    coverage = report["coverage"]
    assert coverage["ran"] == coverage["applicable"], summary(report, process)
    assert report["canonical"] == server.mcp_url, report["canonical"]
    for cid in ("TOK-02", "TOK-03", "TOK-06", "SESS-01", "ORIG-01", "SCOPE-01"):
        assert results[cid]["status"] == "pass", summary(report, process)
    assert {r["status"] for cid, r in results.items() if cid.startswith("ASF-")} == {"pass"}, summary(report, process)


def test_authlab_scan_embedded_single_resource(tmp_path: Path) -> None:
    """The hub as it starts by default, naming no other resource: its authorization server
    refuses a token for anything but its own /mcp (invalid_target, RFC 8707), so authlab gets no
    foreign-audience token and TOK-03 (with the ASF-03 probe that runs on that second code)
    cannot run. Everything else runs and passes; grade A."""
    server = GatehouseServer("embedded-single", ["--provider", "embedded", "--dev-auto-approve"])
    try:
        server.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        login = run_authlab(
            ["login", server.mcp_url, "--no-browser", "--timeout", "20", "--http-timeout", REQUEST_TIMEOUT_S,
             "--no-color"],  # fmt: skip
            tmp_path,
        )
        assert login.returncode == 0, f"mcp-authlab login exited {login.returncode}\n{login.stdout}\n{login.stderr}"
        assert "invalid_target" in login.stderr, login.stderr
        entry = stored_entry(server, tmp_path)
        asf = {r["id"]: r["status"] for r in entry["asf"]}
        assert asf == {"ASF-01": "pass", "ASF-02": "pass", "ASF-03": "skip", "ASF-04": "pass", "ASF-05": "pass",
                       "ASF-06": "pass"}, entry["asf"]  # fmt: skip

        report, process = scan(server.mcp_url, tmp_path / "authlab-single.json", tmp_path)
        text = summary(report, process)
        results = {r["id"]: r for r in report["results"]}
        assert process.returncode == 0 and report["grade"] == "A", text
        assert report["counts"]["fail"] == 0 and report["counts"]["error"] == 0, text
        assert report["critical_failures"] == [] and report["must_failures"] == [], text
        assert report["coverage"]["critical_not_run"] == ["TOK-03"], text
        assert set(report["warnings"]) <= ALLOWED_WARNINGS["jwt"], text
        not_run = sorted(cid for cid, r in results.items() if r["status"] not in ("pass", "warn"))
        assert not_run == ["ASF-03", "TOK-03"], text
    finally:
        server.stop(check=True)


# A stand-in for the user's browser: authlab runs it (via $BROWSER) with the authorization URL.
# It signs in on the page as a person would: GET the page (keeping the CSRF cookie), post the
# form with the email, password, request id and CSRF token, follow the 303 to authlab's callback.
BROWSER_SCRIPT = r'''
import sys
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx2

EMAIL, PASSWORD = sys.argv[1], sys.argv[2]
url = sys.argv[3]


class Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action, self.fields = None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        if tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value", "")


def say(text):
    print("browser: " + text, file=sys.stderr, flush=True)


with httpx2.Client(timeout=10, follow_redirects=False) as client:
    page = client.get(url, headers={"Accept": "text/html"})
    say(f"GET /authorize -> {page.status_code}")
    if page.status_code in (302, 303):
        client.get(page.headers["location"])
        sys.exit(0)
    if page.status_code != 200 or not any(name.startswith("gatehouse_browser_") for name in client.cookies):
        say(f"no sign-in page: {page.status_code} {page.headers} {page.text[:500]}")
        sys.exit(1)
    form = Form()
    form.feed(page.text)
    answer = client.post(
        urljoin(url, form.action),
        data={**form.fields, "email": EMAIL, "password": PASSWORD, "decision": "approve"},
    )
    say(f"POST /authorize -> {answer.status_code}")
    if answer.status_code != 303:
        say(answer.text[:1000])
        sys.exit(1)
    client.get(answer.headers["location"])
'''


def test_authlab_login_through_the_sign_in_page(
    embedded_page: GatehouseServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """authlab's login against the real sign-in page: each of its (four) authorization requests
    is signed in by alice with her password, so the tokens it stores are hers, and every
    authorization server probe passes (`--thorough`: the code-burning probes cost sign-ins)."""
    script = tmp_path / "browser.py"
    script.write_text(BROWSER_SCRIPT)
    # Python's webbrowser runs $BROWSER (split like a shell would) with %s replaced by the URL.
    monkeypatch.setenv("BROWSER", shlex.join([sys.executable, str(script), ALICE, ALICE_PASSWORD]) + " %s")
    login = authlab_login(embedded_page, tmp_path, "--thorough")
    assert login.stderr.count("browser: POST /authorize -> 303") == 4, login.stderr
    entry = stored_entry(embedded_page, tmp_path)
    assert_login_flow_checks(entry, login)
    claims = decode_unverified(entry["access_token"])
    assert claims.get("email") == ALICE, claims
    assert claims["aud"] in (embedded_page.mcp_url, [embedded_page.mcp_url]), claims
