import GatehouseCore

/// Checks an access token and says who presented it.
///
/// Implementations: ``JWTVerifier`` (signature against a JWKS, then claims),
/// ``IntrospectionVerifier`` (RFC 7662), ``UserInfoVerifier`` (AuthKit opaque tokens),
/// ``StaticTokenVerifier`` (development tokens), and the combinators
/// ``JWTOrOpaqueVerifier`` and ``CachingVerifier``.
public protocol TokenVerifier: Sendable {
    /// Returns the principal the token stands for, or throws why it is not accepted.
    func verify(_ token: String) async throws(VerificationFailure) -> Principal
}

/// Why a token was not accepted.
public enum VerificationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The token is malformed, expired, for another audience, badly signed, revoked …
    /// (RFC 6750 §3.1 `invalid_token`, HTTP 401). The text is safe to send to the client.
    case invalidToken(TokenRefusal)
    /// The token could not be checked because the provider is unreachable (HTTP 503).
    case providerUnavailable(String)

    public var description: String {
        switch self {
        case .invalidToken(let refusal): refusal.description
        case .providerUnavailable(let reason): reason
        }
    }
}
