"""The release archive (scripts/release.sh) on a machine without Swift.

scripts/test.sh builds the archive and passes its path in GATEHOUSE_RELEASE_ARCHIVE. The test
unpacks it, checks its checksum and contents, checks that the binary needs no library of the
Swift toolchain, and starts a hub from it with the toolchain out of reach: a private mount
namespace hides the toolchain's directory (an empty tmpfs over it), PATH has no swift and the
environment is empty. The hub must answer /healthz, and the official Python SDK client must log
in to it (discovery, registration, PKCE, the embedded authorization server) and call whoami.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any, Iterator

import httpx2
import pytest

from conftest import DEV_USER, free_port
from test_embedded_login import FileTokenStorage, HeadlessBrowser, Traffic, call_whoami
from test_auth import make_provider as oauth_client_provider
from test_auth import with_oauth_client

ARCHIVE = os.environ.get("GATEHOUSE_RELEASE_ARCHIVE")
pytestmark = pytest.mark.skipif(not ARCHIVE, reason="GATEHOUSE_RELEASE_ARCHIVE is not set (scripts/test.sh sets it after scripts/release.sh)")


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = Path(ARCHIVE or "")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    recorded = Path(str(archive) + ".sha256").read_text().split()
    assert recorded == [digest, archive.name], recorded
    root = tmp_path_factory.mktemp("release")
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    (folder,) = root.iterdir()
    assert folder.name == archive.name.removesuffix(".tar.gz")
    assert sorted(path.name for path in folder.iterdir()) == ["LICENSE", "README", "THIRD_PARTY_LICENSES", "gatehouse"]
    return folder


def toolchain_root() -> Path | None:
    swift = shutil.which("swift")
    return Path(swift).resolve().parent.parent if swift else None


def without_toolchain(argv: list[str]) -> list[str]:
    """`argv` in a mount namespace where the toolchain's directory is an empty tmpfs."""
    root = toolchain_root()
    if root is None:
        return argv
    return ["unshare", "--mount", "sh", "-c", 'mount -t tmpfs tmpfs "$0" && exec "$@"', str(root), *argv]


def test_the_binary_needs_no_toolchain_library(unpacked: Path) -> None:
    needed = subprocess.run(["ldd", str(unpacked / "gatehouse")], capture_output=True, text=True, check=True).stdout
    assert "libswift" not in needed and "libFoundation" not in needed and "libdispatch" not in needed, needed
    assert "not found" not in needed, needed
    version = subprocess.run(
        without_toolchain([str(unpacked / "gatehouse"), "--version"]), capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
        timeout=30)
    assert version.returncode == 0 and version.stdout.strip(), version.stderr
    assert version.stdout.strip() in unpacked.name


@pytest.fixture(scope="module")
def released_hub(unpacked: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("release-hub")
    port = free_port()
    log = (workdir / "hub.log").open("wb")
    process = subprocess.Popen(
        without_toolchain([str(unpacked / "gatehouse"), "hub", "--port", str(port), "--dev-auto-approve",
                           "--database-path", str(workdir / "hub.db")]),
        stdout=log, stderr=subprocess.STDOUT, env={"PATH": "/usr/bin:/bin", "HOME": str(workdir)}, cwd=workdir)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(base + "/healthz", timeout=1).json().get("status") == "ok":
                    break
            except (httpx2.HTTPError, ValueError):
                pass
            assert process.poll() is None, (workdir / "hub.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "the released hub did not answer /healthz within 30 s"
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0, (workdir / "hub.log").read_text(errors="replace")
        log.close()


def test_the_released_hub_serves_and_the_python_sdk_logs_in(released_hub: str, tmp_path: Path) -> None:
    health = httpx2.get(released_hub + "/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok", health.text
    browser, traffic = HeadlessBrowser(), Traffic()
    provider = oauth_client_provider(released_hub + "/mcp", FileTokenStorage(tmp_path / "oauth.json"), browser)
    whoami: Any = with_oauth_client(released_hub + "/mcp", "auto", provider, traffic, call_whoami, timeout=30)
    assert whoami["email"] == DEV_USER and whoami["authenticated"] is True, whoami
    assert len(browser.authorization_urls) == 1
