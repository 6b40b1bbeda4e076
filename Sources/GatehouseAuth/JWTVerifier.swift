import Foundation
import GatehouseCore
import JWTKit

/// Verifies JWT access tokens: algorithm allow-list, signature against the issuer's JWKS,
/// then `exp`/`nbf`/`iat`, `iss`, `aud` and `sub`.
///
/// `none` and HMAC algorithms are never accepted, whatever the configuration says: a
/// resource server holds only public keys, and accepting `HS256` would let anyone who
/// knows a public key forge tokens with it.
public struct JWTVerifier: TokenVerifier {
    let keys: JWKSCache
    let claims: ClaimsValidator
    let algorithms: Set<String>

    /// - Parameters:
    ///   - issuer: the exact `iss` of accepted tokens.
    ///   - audiences: accepted `aud` values; a token must name at least one.
    ///   - algorithms: accepted `alg` values (asymmetric only).
    ///   - leeway: tolerated clock skew.
    ///   - keys: the issuer's JWKS.
    public init(
        issuer: String, audiences: [String], algorithms: [String] = AuthSettings.supportedAlgorithms,
        leeway: Duration = .seconds(30), keys: JWKSCache, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.keys = keys
        self.claims = ClaimsValidator(issuer: issuer, audiences: audiences, leeway: leeway, now: now)
        self.algorithms = Set(algorithms).intersection(AuthSettings.supportedAlgorithms)
    }

    public func verify(_ token: String) async throws(VerificationFailure) -> Principal {
        let parts = try JWTParts(token)
        guard algorithms.contains(parts.algorithm) else {
            throw .invalidToken(.algorithmNotAccepted(parts.algorithm))
        }
        guard let verifier = try await keys.verifier(kid: parts.keyID, algorithm: parts.algorithm) else {
            throw .invalidToken(.unknownKey(kid: parts.keyID))
        }
        do {
            _ = try await verifier.verify(token, as: SignatureOnly.self)
        } catch {
            throw .invalidToken(.badSignature)
        }
        return try claims.validate(parts.claims).0
    }
}

/// A payload type for jwt-kit that decodes nothing: jwt-kit checks the signature, and
/// ``ClaimsValidator`` checks the claims with the configured leeway and audiences.
private struct SignatureOnly: JWTPayload {
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {}
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
