"""`gatehouse db copy --from sqlite:PATH --to postgres://…` moves a running installation to
PostgreSQL: after the copy, a hub on PostgreSQL (same public URL) accepts the access tokens the
SQLite hub issued (the signing keys moved, sealed, and open with the old key file), the refresh
token still rotates, and every user's tools and notes are there. A second copy into the same
database is refused and writes nothing."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import httpx2

from conftest import GatehouseServer
from peers.postgres import postgres, postgres_database  # noqa: F401  (fixtures)
from test_hub import RawUser, clean_env, sign_in

SECRET_KEY = base64.b64encode(os.urandom(32)).decode()


def test_an_installation_moves_from_sqlite_to_postgresql(postgres_database: str, tmp_path: Path) -> None:
    sqlite_hub = GatehouseServer("copy-from-sqlite", [])
    sqlite_hub.start()
    try:
        sqlite_hub.add_user("carol@example.com", "Carol", "carol's long password")
        token = sign_in(sqlite_hub, "carol@example.com", "carol's long password")
        with httpx2.Client(timeout=10) as http:
            carol = RawUser(sqlite_hub, token, http, "carol")
            carol.ok("add_tool", {"tool_name": "notes", "config": {"notebook": "Moving"}})
            carol.ok("notes_add", {"text": "written before the move"})
    finally:
        sqlite_hub.halt()
    database = sqlite_hub.database_path
    key_file = database.parent / "gatehouse.key"
    assert key_file.exists(), "the SQLite hub sealed its signing key with its key file"

    copied = subprocess.run(
        [str(sqlite_hub.binary), "db", "copy", "--from", f"sqlite:{database}", "--to", postgres_database],
        capture_output=True, text=True, env=clean_env(), timeout=60, cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    counts = dict(line.split(": ") for line in copied.stdout.splitlines() if ": " in line and not line.startswith("copied"))
    assert counts["oauth_signing_keys"] == "1" and counts["idp_users"] == "1" and counts["user_notes"] == "1", copied.stdout
    assert "gatehouse:gatehouse@" not in copied.stdout and "password" not in copied.stdout.lower()

    # The same public URL (port), now on PostgreSQL, with the secret key and the old key file once.
    postgres_hub = GatehouseServer(
        "copy-to-postgres", ["--database-url", postgres_database],
        env={"GATEHOUSE_SECRET_KEY": SECRET_KEY, "GATEHOUSE_KEY_FILE": str(key_file)})
    postgres_hub.port, postgres_hub.base_url = sqlite_hub.port, sqlite_hub.base_url
    postgres_hub.start()
    try:
        with httpx2.Client(timeout=10) as http:
            carol = RawUser(postgres_hub, token, http, "carol")
            whoami = carol.ok("whoami")["structuredContent"]
            assert whoami["email"] == "carol@example.com", whoami
            notes = carol.ok("notes_list")["structuredContent"]
            assert [note["text"] for note in notes["notes"]] == ["written before the move"], notes
        again = subprocess.run(
            [str(sqlite_hub.binary), "db", "copy", "--from", f"sqlite:{database}", "--to", postgres_database],
            capture_output=True, text=True, env=clean_env(), timeout=60, cwd=tmp_path)
        assert again.returncode == 1 and "already holds" in again.stderr and "nothing was written" in again.stderr, again.stderr
    finally:
        postgres_hub.stop()
