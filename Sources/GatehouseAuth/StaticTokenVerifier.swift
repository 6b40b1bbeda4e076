import Crypto
import Foundation
import GatehouseCore

/// Accepts the fixed development tokens of `MCP_STATIC_TOKENS`.
///
/// Tokens are compared through their SHA-256 digests, so the comparison takes the same
/// time whatever prefix of a valid token a caller guesses.
public struct StaticTokenVerifier: TokenVerifier {
    private let principals: [SHA256.Digest: Principal]

    public init(tokens: [AuthSettings.StaticToken]) {
        var principals: [SHA256.Digest: Principal] = [:]
        for token in tokens {
            principals[SHA256.hash(data: Data(token.token.utf8))] = Principal(
                subject: token.subject, issuer: "gatehouse-static", clientID: token.clientID, scopes: Set(token.scopes))
        }
        self.principals = principals
    }

    public func verify(_ token: String) async throws(VerificationFailure) -> Principal {
        guard let principal = principals[SHA256.hash(data: Data(token.utf8))] else {
            throw .invalidToken(.unrecognized("unknown token"))
        }
        return principal
    }
}
