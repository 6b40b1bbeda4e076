"""ES256 keys, JWKs and compact JWTs, with the `cryptography` package (the only non-stdlib need
of the harness: the rogue-kid probe signs tokens, the file-modes probe tries to forge one with
a key read from a backup). Import errors surface as CryptographyMissing so probes can report
"not measured" instead of crashing."""

from __future__ import annotations

import base64
import json
import secrets
import time


class CryptographyMissing(RuntimeError):
    pass


def _ec():
    try:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    except ImportError as error:  # pragma: no cover - depends on the interpreter
        raise CryptographyMissing(
            f"the cryptography package is missing ({error}); see bench/hostile/README.md"
        ) from error
    return ec, hashes, decode_dss_signature


def available() -> bool:
    try:
        _ec()
        return True
    except CryptographyMissing:
        return False


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class ES256Key:
    def __init__(self, kid: str | None = None, private_scalar: bytes | None = None) -> None:
        ec, _, _ = _ec()
        if private_scalar is not None:
            self.key = ec.derive_private_key(int.from_bytes(private_scalar, "big"), ec.SECP256R1())
        else:
            self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = kid or "k-" + secrets.token_hex(6)

    def jwk(self) -> dict:
        numbers = self.key.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "use": "sig",
            "alg": "ES256",
            "kid": self.kid,
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }

    def sign(self, claims: dict, kid: str | None = None, typ: str = "JWT") -> str:
        """A compact JWS over `claims`; `kid` overrides the header's kid (to name unknown keys)."""
        ec, hashes, decode_dss_signature = _ec()
        header = {"alg": "ES256", "typ": typ, "kid": kid or self.kid}
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        der = self.key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def claims(issuer: str, audience: str, subject: str = "bench-user", lifetime: int = 600, **extra) -> dict:
    now = int(time.time())
    return {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": now,
        "nbf": now - 5,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(12),
        **extra,
    }
