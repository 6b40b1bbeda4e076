"""`gatehouse doctor token` against a real JWT issuer (test_issuer.LocalIssuer): the same verdict as the hub
(checked by sending each token to a hub on the same issuer), the finding id that explains it, and never the
token in the output."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx2
import pytest

from conftest import DEFAULT_BIN
from test_issuer import LocalIssuer

RESOURCE = "http://127.0.0.1:8884/mcp"


def doctor(issuer: LocalIssuer, token: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    """Runs `gatehouse doctor token - --json` with the token on stdin; (exit status, JSON, raw output)."""
    binary = Path(os.environ.get("GATEHOUSE_BIN", str(DEFAULT_BIN))).resolve()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEHOUSE_", "HUB_", "MCP_", "WORKOS_"))}
    done = subprocess.run(
        [str(binary), "doctor", "token", "-", "--json", "--resource", RESOURCE, "--env", f"MCP_JWT_ISSUER={issuer.issuer}", *extra],
        input=token, capture_output=True, text=True, timeout=30, env=env,
    )
    output = done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}, output


@pytest.mark.parametrize(
    "case, expected",
    [
        ("valid", "token.accepted"),
        ("expired", "token.expired"),
        ("other_audience", "token.audience"),
        ("audience_is_client", "token.audience_is_client"),
        ("other_issuer", "token.issuer"),
        ("unknown_kid", "token.unknown_kid"),
        ("tampered", "token.signature"),
        ("not_a_jwt", "token.malformed"),
    ],
)
def test_doctor_names_why_a_token_is_refused(issuer: LocalIssuer, case: str, expected: str) -> None:
    tokens = {
        "valid": issuer.mint("alice", RESOURCE),
        "expired": issuer.mint("alice", RESOURCE, exp_in=-3600),
        "other_audience": issuer.mint("alice", "https://elsewhere.example/mcp"),
        "audience_is_client": issuer.mint("alice", "client_01ABC", client_id="client_01ABC"),
        "other_issuer": issuer.mint("alice", RESOURCE, iss="https://impostor.example"),
        "unknown_kid": issuer.forge(issuer.claims("alice", RESOURCE), "other-key"),
        "tampered": issuer.forge(issuer.claims("alice", RESOURCE), "tampered"),
        "not_a_jwt": "eyJhbGciOi.not-base64!.c2lnbmF0dXJlLXNlZ21lbnQ",
    }
    token = tokens[case]
    status, body, output = doctor(issuer, token)
    ids = [finding["id"] for finding in body.get("findings", [])]
    assert expected in ids, output
    assert status == (0 if case == "valid" else 1), output
    assert token not in output
    if token.count(".") == 2:
        assert token.rsplit(".", 1)[1] not in output, "the signature was printed"


def test_doctor_agrees_with_the_hub(issuer: LocalIssuer, gatehouse_jwt) -> None:
    """The hub on the same issuer refuses the expired token with the description doctor prints."""
    url = gatehouse_jwt.mcp_url
    token = issuer.mint("alice", url, exp_in=-3600)
    response = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                           headers={"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"})
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    status, body, output = doctor(issuer, token, "--resource", url)
    assert status == 1, output
    finding = body["findings"][0]
    assert finding["id"] == "token.expired"
    assert 'error_description="the token has expired"' in challenge, challenge
