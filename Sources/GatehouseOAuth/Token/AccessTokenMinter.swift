import Foundation
import GatehouseCore

/// Mints the access tokens: short-lived JWTs (RFC 9068) signed with the key ring's active key.
struct AccessTokenMinter: Sendable {
    let issuer: String
    let lifetime: TimeInterval
    let keys: KeyRing
    let store: any AuthorizationStore
    let now: @Sendable () -> Date

    /// A signed access token for `grant`, limited to `scopes`, and its lifetime in seconds.
    func mint(_ grant: AuthorizationGrant, scopes: [String]) async throws -> (token: String, expiresIn: Int) {
        let issuedAt = Int(now().timeIntervalSince1970)
        let expiresIn = Int(lifetime)
        var claims: [String: JSONValue] = [
            "iss": .string(issuer),
            "sub": .string(grant.subject),
            // RFC 8707 §2 and MCP authorization "Token Audience Binding": the token is only
            // for the resource the client asked for, so it cannot be replayed elsewhere.
            "aud": .string(grant.resource),
            "client_id": .string(grant.clientID),
            "iat": .int(issuedAt),
            "nbf": .int(issuedAt),
            "exp": .int(issuedAt + expiresIn),
            "auth_time": .int(Int(grant.authTime.timeIntervalSince1970)),
            "jti": .string(SecretToken.generate()),
        ]
        if !scopes.isEmpty { claims["scope"] = .string(scopes.joined(separator: " ")) }
        if let user = try await store.localUser(id: grant.subject) {
            claims["email"] = .string(user.email)
            if let name = user.name { claims["name"] = .string(name) }
        }
        if let sessionID = grant.loginSessionID, let organization = try await store.loginSession(id: sessionID)?.organizationID {
            claims["org_id"] = .string(organization)
        }
        let token = try await keys.activeKey().sign(claims: .object(claims))
        return (token, expiresIn)
    }
}
