"""Official Python MCP SDK (mcp 2.3.0) peer for bench/harness: one `add` tool behind a JWT verifier.

    python sdk_server.py --port P --issuer ISS --jwks-uri URI --audience AUD [--stateless] [--no-auth]

mcp 2.3.0 ships the resource-server plumbing (`token_verifier` + `AuthSettings`, bearer middleware,
protected-resource metadata) but no JWT verifier, so `JWKSTokenVerifier` below is the usual
PyJWT one: RS256 against the issuer's JWKS (keys fetched once and cached by PyJWKClient), with
`iss`, `aud` and `exp` checked. Streamable HTTP with JSON responses (no SSE) at /mcp.
"""

from __future__ import annotations

import asyncio
import warnings

import jwt
import uvicorn
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer

from peer_args import parse_peer_args


class JWKSTokenVerifier:
    """mcp.server.auth.provider.TokenVerifier for RS256 JWTs signed by a JWKS key."""

    def __init__(self, jwks_uri: str, issuer: str, audience: str) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwt.PyJWKClient(jwks_uri, cache_keys=True, lifespan=3600, timeout=5)

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            key = self.jwks.get_signing_key_from_jwt(token)  # cached after the first fetch
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError:
            return None
        scope = claims.get("scope", "")
        return AccessToken(
            token=token,
            client_id=str(claims.get("client_id") or claims.get("azp") or claims["sub"]),
            scopes=scope.split() if isinstance(scope, str) else list(scope),
            expires_at=int(claims["exp"]),
            resource=self.audience,
            subject=str(claims["sub"]),
            claims=claims,
        )


def main() -> None:
    args = parse_peer_args()

    kwargs = {}
    if not args.no_auth:
        # Warm the key cache now so the first request does not pay for the JWKS fetch.
        verifier = JWKSTokenVerifier(args.jwks_uri, args.issuer, args.audience)
        verifier.jwks.get_jwk_set()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kwargs["auth"] = AuthSettings(
                issuer_url=args.issuer,
                resource_server_url=args.audience,
                validate_token_resource=True,
            )
        kwargs["token_verifier"] = verifier

    server = MCPServer("bench-sdk", log_level="WARNING", **kwargs)

    @server.tool()
    def add(a: float, b: float) -> float:
        """Add two numbers."""
        return a + b

    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        json_response=True,
        stateless_http=args.stateless,
        host="127.0.0.1",
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
