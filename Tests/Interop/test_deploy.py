"""The deployment examples of docs/deploy.md, checked by the tools that read them, and the CLI's
own help: the systemd unit (systemd-analyze verify), the nginx site (nginx -t, then a real nginx
with it in front of a hub: the challenge, the metadata and a CORS preflight pass through TLS
untouched), the Caddyfile (caddy validate), the shell completion scripts (bash -n), and an
example in every command's --help. scripts/interop.sh installs nginx, caddy and systemd's
analyzer from Debian when they are missing."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx2
import pytest

from conftest import REPO_ROOT, free_port, start_extra_server
from test_client import BINARY

DEPLOY = REPO_ROOT / "deploy"
COMMANDS = [
    [], ["hub"], ["gateway"], ["doctor"], ["doctor", "url"], ["doctor", "token"], ["idp"], ["idp", "serve"], ["idp", "add-user"],
    ["keys"], ["keys", "rotate"], ["users"], ["users", "list"], ["db"], ["db", "migrate"], ["db", "backup"], ["login"], ["tools"],
    ["call"], ["ping"], ["logout"], ["bridge"], ["client-config"],
]


def tool(name: str) -> str:
    path = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if Path(p).exists()), None)
    if path is None:
        pytest.fail(f"{name} is missing: scripts/interop.sh installs it from Debian", pytrace=False)
    return path




def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    unit = (DEPLOY / "gatehouse.service").read_text()
    assert "ExecStart=/usr/local/bin/gatehouse hub" in unit
    local = tmp_path / "gatehouse.service"
    local.write_text(unit.replace("/usr/local/bin/gatehouse", str(BINARY)))
    verified = subprocess.run([tool("systemd-analyze"), "verify", str(local)], capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0 and "gatehouse.service" not in verified.stderr, verified.stderr
    # The analyzer does refuse a broken unit (so the check above means something).
    broken = tmp_path / "broken.service"
    broken.write_text("[Service]\nExecStart=relative/gatehouse hub\n")
    assert subprocess.run([tool("systemd-analyze"), "verify", str(broken)], capture_output=True, timeout=60).returncode != 0


def test_the_nginx_site_passes_mcp_through_tls_untouched(tmp_path: Path) -> None:
    """nginx -t accepts the site; then nginx runs it (its ports and certificate swapped for test
    ones) in front of a hub whose base URL is the https one: the 401 challenge, the metadata and
    a CORS preflight arrive as the hub sent them."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "key.pem"), "-out",
         str(tmp_path / "cert.pem"), "-days", "1", "-subj", "/CN=mcp.example.com"], check=True, capture_output=True, timeout=60)
    https_port, http_port = free_port(), free_port()
    base = f"https://127.0.0.1:{https_port}"
    hub = start_extra_server("behind-nginx", ["--base-url", base])
    try:
        site = (DEPLOY / "nginx-gatehouse.conf").read_text()
        site = site.replace("/etc/letsencrypt/live/mcp.example.com/fullchain.pem", str(tmp_path / "cert.pem"))
        site = site.replace("/etc/letsencrypt/live/mcp.example.com/privkey.pem", str(tmp_path / "key.pem"))
        site = site.replace("server 127.0.0.1:8884;", f"server 127.0.0.1:{hub.port};")
        site = re.sub(r"listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;", site)
        site = re.sub(r"listen 80;", f"listen 127.0.0.1:{http_port};", site)
        site = "\n".join(line for line in site.splitlines() if "[::]" not in line)
        (tmp_path / "site.conf").write_text(site)
        (tmp_path / "nginx.conf").write_text(
            f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\ndaemon off;\nevents {{}}\n"
            f"http {{\n access_log off;\n client_body_temp_path {tmp_path}/body;\n proxy_temp_path {tmp_path}/proxy;\n"
            f" include {tmp_path}/site.conf;\n}}\n")
        checked = subprocess.run([tool("nginx"), "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                                 capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        nginx = subprocess.Popen([tool("nginx"), "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with httpx2.Client(verify=False, timeout=5) as http:
                deadline = time.monotonic() + 10
                while True:
                    try:
                        challenge = http.post(base + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                              headers={"Accept": "application/json, text/event-stream"})
                        break
                    except httpx2.HTTPError:
                        assert time.monotonic() < deadline, (tmp_path / "error.log").read_text(errors="replace")
                        time.sleep(0.1)
                assert challenge.status_code == 401, challenge.text
                assert f'resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"' in challenge.headers["www-authenticate"]
                metadata = http.get(base + "/.well-known/oauth-protected-resource/mcp").json()
                assert metadata["resource"] == base + "/mcp", metadata
                preflight = http.request("OPTIONS", base + "/.well-known/oauth-authorization-server", headers={
                    "Origin": "https://client.example", "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "mcp-protocol-version"})
                assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*", preflight.headers
                plain = http.get(f"http://127.0.0.1:{http_port}/mcp", follow_redirects=False)
                assert plain.status_code == 308 and plain.headers["location"].startswith("https://"), plain.headers
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
    finally:
        hub.stop()


def test_the_caddyfile_validates() -> None:
    validated = subprocess.run([tool("caddy"), "validate", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
                               capture_output=True, text=True, timeout=60)
    assert validated.returncode == 0 and "Valid configuration" in validated.stdout + validated.stderr, validated.stderr[-1000:]


def test_shell_completion_scripts_are_generated_and_parse(tmp_path: Path) -> None:
    for shell in ("bash", "zsh", "fish"):
        script = subprocess.run([str(BINARY), "--generate-completion-script", shell], capture_output=True, text=True, timeout=30)
        assert script.returncode == 0 and "gatehouse" in script.stdout and "bridge" in script.stdout, (shell, script.stderr)
        (tmp_path / f"gatehouse.{shell}").write_text(script.stdout)
    parsed = subprocess.run(["bash", "-n", str(tmp_path / "gatehouse.bash")], capture_output=True, text=True, timeout=30)
    assert parsed.returncode == 0, parsed.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "gatehouse")
def test_every_command_has_an_example_in_its_help(command: list[str]) -> None:
    shown = subprocess.run([str(BINARY), *command, "--help"], capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"^Example:\n  gatehouse ", shown.stdout, re.MULTILINE), shown.stdout[:800]
