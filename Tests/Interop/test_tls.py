"""Native TLS (`--tls-cert`, `--tls-key`), for deployments without a TLS proxy in front.

Certificates are made here with Debian's openssl (installed by scripts/interop.sh): a CA of the
test, and a server certificate it signs for 127.0.0.1 and localhost. The CA is trusted through
SSL_CERT_FILE, which httpx (under the official Python SDK client) reads, and curl's --cacert.

  test_sdk_signs_in_and_calls_tools_over_https
      the official Python SDK client (both modes) discovers, registers, signs in and calls
      whoami over https: every URL the hub publishes (resource, issuer, endpoints) is https
  test_http2_is_offered_only_when_asked
      curl --http2 gets HTTP/1.1 from the default listener and HTTP/2 (ALPN h2) with
      GATEHOUSE_TLS_HTTP2=true, where HTTP/1.1 clients still get HTTP/1.1
  test_plain_http_to_the_tls_port_gets_no_answer_and_no_hang
      a plaintext request to the TLS port fails at once (the handshake is refused), bounded
  test_bad_tls_files_stop_the_start_with_the_setting_named
      a missing key, a file that is not PEM, a key of another certificate and a certificate
      without its key each make `gatehouse hub` exit 78 naming GATEHOUSE_TLS_CERT/_KEY
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Iterator

import httpx2
import pytest

from conftest import GatehouseServer, free_port
from test_embedded_login import SDK_MODES, FileTokenStorage, HeadlessBrowser, Traffic, call_whoami, run_sdk
from test_auth import make_provider as oauth_client_provider

CLI_TIMEOUT_S = 30.0


def openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"openssl {' '.join(args)}: {done.stderr}"


def make_certificates(directory: Path, name: str = "server") -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost signed by the directory's CA (made on first
    use), and its key."""
    if not (directory / "ca.pem").exists():
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                "-subj", "/CN=Gatehouse test CA", cwd=directory)
    (directory / f"{name}.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", "/CN=127.0.0.1",
            cwd=directory)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=directory)
    return directory / f"{name}.pem", directory / f"{name}.key"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """The server certificate and key; the test CA trusted (SSL_CERT_FILE) while the module runs."""
    directory = tmp_path_factory.mktemp("tls")
    pair = make_certificates(directory)
    previous = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = str(directory / "ca.pem")
    try:
        yield pair
    finally:
        if previous is None:
            os.environ.pop("SSL_CERT_FILE", None)
        else:
            os.environ["SSL_CERT_FILE"] = previous


def tls_hub(name: str, certificate: Path, key: Path, *extra: str, env: dict[str, str] | None = None) -> GatehouseServer:
    """A hub serving https itself (not started yet)."""
    server = GatehouseServer(name, ["--tls-cert", str(certificate), "--tls-key", str(key), *extra], env=env)
    server.base_url = f"https://127.0.0.1:{server.port}"
    return server


@pytest.fixture(scope="module")
def https_hub(certificates: tuple[Path, Path]) -> Iterator[GatehouseServer]:
    server = tls_hub("tls", *certificates, "--dev-auto-approve")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("mode", list(SDK_MODES))
def test_sdk_signs_in_and_calls_tools_over_https(https_hub: GatehouseServer, tmp_path: Path, mode: str) -> None:
    metadata = httpx2.get(https_hub.base_url + "/.well-known/oauth-protected-resource/mcp", timeout=5).json()
    assert metadata["resource"] == https_hub.base_url + "/mcp", metadata
    issuer = metadata["authorization_servers"][0]
    assert issuer == https_hub.base_url, metadata
    server_metadata = httpx2.get(https_hub.base_url + "/.well-known/oauth-authorization-server", timeout=5).json()
    for field in ("issuer", "authorization_endpoint", "token_endpoint", "registration_endpoint", "jwks_uri"):
        assert server_metadata[field].startswith("https://127.0.0.1:"), (field, server_metadata[field])
    traffic = Traffic()
    provider = oauth_client_provider(https_hub.mcp_url, FileTokenStorage(tmp_path / "tokens.json"), HeadlessBrowser())
    whoami = run_sdk(https_hub, mode, provider, traffic, call_whoami)
    assert whoami["subject"] and whoami["issuer"] == https_hub.base_url, whoami
    assert traffic.seen and all(url.startswith("https://") for _, url, *_ in traffic.seen), traffic.describe()


def curl(*args: str) -> list[str]:
    """A bounded curl that trusts the test CA."""
    return ["curl", "-sS", "--max-time", "10", "--cacert", os.environ["SSL_CERT_FILE"], *args]


def curl_version(url: str, *flags: str) -> str:
    done = subprocess.run(curl(*flags, "-o", "/dev/null", "-w", "%{http_version}", url), capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_http2_is_offered_only_when_asked(https_hub: GatehouseServer, certificates: tuple[Path, Path]) -> None:
    assert curl_version(https_hub.base_url + "/healthz", "--http2") == "1.1"
    server = tls_hub("tls-h2", *certificates, "--provider", "none", env={"GATEHOUSE_TLS_HTTP2": "true"})
    server.start()
    try:
        assert curl_version(server.base_url + "/healthz", "--http2") == "2"
        assert curl_version(server.base_url + "/healthz", "--http1.1") == "1.1"
        body = {"jsonrpc": "2.0", "id": 1, "method": "server/discover",
                "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                     "io.modelcontextprotocol/clientCapabilities": {}}}}
        done = subprocess.run(
            curl("--http2", "-X", "POST", server.mcp_url, "-H", "Content-Type: application/json",
             "-H", "Accept: application/json, text/event-stream", "-H", "MCP-Protocol-Version: 2026-07-28",
             "-H", "Mcp-Method: server/discover", "-d", json.dumps(body)),
            capture_output=True, text=True, timeout=20)
        assert '"supportedVersions":["2026-07-28"]' in done.stdout, (done.stdout, done.stderr)
    finally:
        server.stop()


def test_plain_http_to_the_tls_port_gets_no_answer_and_no_hang(https_hub: GatehouseServer) -> None:
    with pytest.raises(httpx2.HTTPError):
        httpx2.get(f"http://127.0.0.1:{https_hub.port}/healthz", timeout=5)
    # The listener still serves TLS clients afterwards.
    assert httpx2.get(https_hub.base_url + "/healthz", timeout=5).json() == {"status": "ok"}


def start_failure(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEHOUSE_", "HUB_", "MCP_", "WORKOS_"))}
    binary = GatehouseServer("probe", []).binary
    return subprocess.run([str(binary), "hub", "--port", str(free_port()), *args], capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S, env=env)


def test_bad_tls_files_stop_the_start_with_the_setting_named(certificates: tuple[Path, Path], tmp_path: Path) -> None:
    certificate, key = certificates
    _, other_key = make_certificates(certificate.parent, "other")
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    cases = {
        "missing key file": (["--tls-cert", str(certificate), "--tls-key", str(tmp_path / "missing.key")], "GATEHOUSE_TLS_KEY"),
        "certificate not PEM": (["--tls-cert", str(not_pem), "--tls-key", str(key)], "GATEHOUSE_TLS_CERT"),
        "key of another certificate": (["--tls-cert", str(certificate), "--tls-key", str(other_key)], "does not fit"),
        "certificate without key": (["--tls-cert", str(certificate)], "GATEHOUSE_TLS_KEY"),
    }
    for case, (args, named) in cases.items():
        done = start_failure(*args)
        assert done.returncode == 78 and named in done.stderr, (case, done.returncode, done.stderr)
