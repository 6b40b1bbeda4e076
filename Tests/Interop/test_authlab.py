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
