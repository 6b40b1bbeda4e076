"""`gatehouse doctor --config` on the operations and store settings, against real files and a
real PostgreSQL (peers/postgres.py); `--json` output, findings by id.

  test_postgres_store_is_checked_without_changing_it
      a new database: config.database_migrations_pending (info) naming every migration, and the
      database still has no table afterwards (doctor changes nothing); once a hub has started on
      it, no store finding; a URL where nothing listens: config.database_unreachable (error)
  test_operations_settings_are_checked
      an audit log in a folder that does not exist: config.audit_log_not_writable; metrics on
      0.0.0.0: config.metrics_public (warning); a TLS key that is not there:
      config.tls_unusable naming GATEHOUSE_TLS_KEY; good settings: none of these, and config.ok
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import DEFAULT_BIN, GatehouseServer, free_port
from peers.postgres import PostgresServer, postgres_server
from test_tls import make_certificates

CLI_TIMEOUT_S = 60.0
SECRET_KEY = base64.b64encode(b"k" * 32).decode()


def doctor_config(*args: str, cwd: Path) -> list[dict[str, Any]]:
    """The findings of `gatehouse doctor --config --json ARGS` (the environment clean of settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEHOUSE_", "HUB_", "MCP_", "WORKOS_"))}
    env["GATEHOUSE_SECRET_KEY"] = SECRET_KEY
    binary = Path(os.environ.get("GATEHOUSE_BIN", str(DEFAULT_BIN))).resolve()
    done = subprocess.run([str(binary), "doctor", "--config", "--json", "--provider", "none", *args], capture_output=True,
                          text=True, timeout=CLI_TIMEOUT_S, cwd=cwd, env=env)
    assert done.returncode in (0, 1), (done.returncode, done.stderr)
    return json.loads(done.stdout)["findings"]


def ids(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {finding["id"]: finding for finding in findings}


@pytest.fixture(scope="module")
def postgres() -> PostgresServer:
    with postgres_server() as server:
        yield server


def test_postgres_store_is_checked_without_changing_it(postgres: PostgresServer, tmp_path: Path) -> None:
    url = postgres.create_database("doctor_fresh")
    found = ids(doctor_config("--database-url", url, cwd=tmp_path))
    pending = found["config.database_migrations_pending"]
    assert pending["severity"] == "info" and "v1-authorization-server" in pending["message"] and "v6-rate-windows" in pending["message"], pending
    assert postgres.psql("select count(*) from pg_tables where schemaname = 'public'", database="doctor_fresh") == "0"

    hub = GatehouseServer("doctor-pg", ["--database-url", url, "--provider", "none"], env={"GATEHOUSE_SECRET_KEY": SECRET_KEY})
    hub.start()
    hub.stop()
    found = ids(doctor_config("--database-url", url, cwd=tmp_path))
    assert not {"config.database_migrations_pending", "config.database_unreachable"} & found.keys(), found

    nowhere = f"postgres://gatehouse@127.0.0.1:{free_port()}/nothing"
    unreachable = ids(doctor_config("--database-url", nowhere, cwd=tmp_path))["config.database_unreachable"]
    assert unreachable["severity"] == "error" and "HUB_DATABASE_URL" in unreachable["fix"], unreachable


def test_operations_settings_are_checked(tmp_path: Path) -> None:
    certificate, key = make_certificates(tmp_path)
    found = ids(doctor_config(
        "--audit-log", str(tmp_path / "missing" / "audit.jsonl"), "--metrics-port", str(free_port()),
        "--env", "GATEHOUSE_METRICS_HOST=0.0.0.0", "--tls-cert", str(certificate), "--tls-key", str(tmp_path / "absent.key"),
        cwd=tmp_path))
    assert found["config.audit_log_not_writable"]["severity"] == "error", found
    assert found["config.metrics_public"]["severity"] == "warning", found
    assert found["config.tls_unusable"]["severity"] == "error" and "GATEHOUSE_TLS_KEY" in found["config.tls_unusable"]["message"], found
    assert "config.ok" not in found

    good = ids(doctor_config(
        "--audit-log", str(tmp_path / "audit.jsonl"), "--metrics-port", str(free_port()), "--tls-cert", str(certificate),
        "--tls-key", str(key), cwd=tmp_path))
    assert not {"config.audit_log_not_writable", "config.metrics_public", "config.tls_unusable"} & good.keys(), good
    assert "config.ok" in good, good
    assert not (tmp_path / "audit.jsonl").exists(), "doctor must not create the audit log"
