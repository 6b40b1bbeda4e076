"""[file-modes] A database in a pre-existing 0755 folder: the modes of hub.db, -wal, -shm and of a
`gatehouse db backup` copy in the same folder; whether the backup's signing key is raw (usable
to sign tokens) or sealed (b"GHS1..."), and whether a token forged with it is accepted."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import hub as hub_module
import jose
import oauth

NAME = "file-modes"
DESCRIPTION = "modes of the store's files and of a backup in a pre-existing 0755 folder; is the signing key readable"
BUDGET_S = 90


def mode_of(path: Path) -> str:
    try:
        return oct(stat.S_IMODE(path.stat().st_mode)).replace("0o", "0")
    except FileNotFoundError:
        return "absent"


def _world_or_group_readable(mode: str) -> bool:
    return mode != "absent" and int(mode, 8) & 0o044 != 0


def _keys(backup: Path) -> list[tuple[str, bytes]]:
    connection = sqlite3.connect(f"file:{backup}?immutable=1", uri=True, timeout=5.0)
    try:
        return [(row[0], bytes(row[1])) for row in
                connection.execute("SELECT key_id, private_key FROM oauth_signing_keys ORDER BY created_at DESC")]
    finally:
        connection.close()


def run(context) -> dict:
    m: dict = {}
    notes: list[str] = []
    hub = context.hub("db")
    folder = hub.workdir / "data"
    folder.mkdir()
    os.chmod(folder, 0o755)
    hub.database_path = str(folder / "hub.db")
    hub.start()
    m["folder mode (pre-existing)"] = mode_of(folder)
    m["umask of the hub and its commands"] = f"{hub_module.CHILD_UMASK:04o}"
    status = oauth.register(hub.base).status
    m["POST /register status"] = status

    database = Path(hub.database_path)
    for suffix in ("", "-wal", "-shm"):
        m[f"hub.db{suffix} mode (hub running)"] = mode_of(Path(str(database) + suffix))

    backup = folder / "backup.db"
    done = hub.cli("db", "backup", str(backup), "--database-path", hub.database_path, timeout=60)
    m["db backup exit code"] = done.returncode
    if done.returncode != 0:
        notes.append(f"db backup: {done.stdout.strip()} {done.stderr.strip()}")
    for suffix in ("", "-wal", "-shm"):
        mode = mode_of(Path(str(backup) + suffix))
        if suffix == "" or mode != "absent":
            m[f"backup.db{suffix} mode"] = mode

    known = {"hub.db", "hub.db-wal", "hub.db-shm", "backup.db", "backup.db-wal", "backup.db-shm"}
    others = {p.name: mode_of(p) for p in sorted(folder.iterdir()) if p.name not in known}
    m["other files the hub created in the folder"] = others or "none"
    readable = sorted(
        name for name, mode in
        [(p.name, mode_of(p)) for p in folder.iterdir() if p.is_file()]
        if _world_or_group_readable(mode)
    )
    m["files readable by group/others"] = readable or "none"

    # The signing key as a thief holding the backup sees it.
    key_state = "not measured"
    forged_status = None
    if backup.exists():
        try:
            keys = _keys(backup)
        except sqlite3.Error as error:
            keys = []
            notes.append(f"could not read the backup: {error}")
        m["signing keys in backup"] = len(keys)
        if keys:
            key_id, private = keys[0]
            if private.startswith(b"GHS1"):
                key_state = f"sealed (GHS1…, {len(private)} bytes)"
            elif len(private) == 32:
                key_state = "raw 32-byte P-256 scalar (unsealed)"
            else:
                key_state = f"unknown format ({len(private)} bytes, starts {private[:4]!r})"
            m["backup signing key"] = key_state
            if len(private) == 32 and not private.startswith(b"GHS1"):
                if jose.available():
                    forged = jose.ES256Key(kid=key_id, private_scalar=private).sign(
                        jose.claims(hub.base, hub.mcp_url, subject="forged-by-backup-thief",
                                    client_id="forged", scope=""),
                        typ="at+jwt",
                    )
                    response = oauth.call_add(hub.base, forged)
                    forged_status = response.status
                    m["token forged with the backup's key: tools/call status"] = forged_status
                else:
                    m["token forged with the backup's key: tools/call status"] = "not measured (no cryptography)"
                    notes.append("install cryptography to try the forgery (see README)")
    hub.stop()

    problems = []
    if readable:
        problems.append("readable by group/others: " + ", ".join(readable))
    if key_state.startswith("raw"):
        problems.append("signing key stored raw" + (" and a forged token was accepted" if forged_status == 200 else ""))
    verdict = "; ".join(problems) if problems else "store files and backup are 0600 and the key is sealed"
    return {"measurements": m, "verdict": verdict, "notes": notes}
