import GatehouseCore

/// Sends JWT-shaped tokens to one verifier and every other token to another,
/// as AuthKit needs: JWT access tokens are checked locally, opaque ones at userinfo.
public struct JWTOrOpaqueVerifier: TokenVerifier {
    let jwt: any TokenVerifier
    let opaque: any TokenVerifier

    public init(jwt: any TokenVerifier, opaque: any TokenVerifier) {
        self.jwt = jwt
        self.opaque = opaque
    }

    public func verify(_ token: String) async throws(VerificationFailure) -> Principal {
        Self.looksLikeJWT(token) ? try await jwt.verify(token) : try await opaque.verify(token)
    }

    /// True when `token` has the shape of a compact JWS (three base64url segments, a JSON header).
    public static func looksLikeJWT(_ token: String) -> Bool { JWTParts.looksLikeJWT(token) }
}
