import Foundation
import GatehouseCore

/// Upstream tokens minted for callers, reused (``TokenReuse``) per caller, scopes and audience.
final class MintedTokenCache: Sendable {
    private struct Key: Hashable {
        let issuer: String?
        let subject: String
        let scopes: Set<String>
        let audience: String
    }

    private let reuse = TokenReuse<Key>()
    private let now: @Sendable () -> Date

    init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    func token(
        for principal: Principal, audience: String, lifetime: Duration, minter: any UpstreamTokenMinter
    ) async throws(UpstreamFailure) -> String {
        let key = Key(issuer: principal.issuer, subject: principal.subject, scopes: principal.scopes, audience: audience)
        let instant = now()
        if let token = reuse.token(for: key, at: instant) { return token }
        let seconds = Double(lifetime.components.seconds)
        let claims = Self.claims(for: principal, audience: audience, issuer: minter.issuer, issuedAt: instant, lifetime: seconds)
        let token: String
        do {
            token = try await minter.sign(claims: claims)
        } catch {
            throw .unavailable("cannot sign a token for the upstream: \(error)")
        }
        reuse.keep(token, for: key, issuedAt: instant, lifetime: seconds)
        return token
    }

    /// RFC 9068 access-token claims for the upstream, with RFC 8693 §4.1 `act` naming the gateway
    /// as the party acting for the subject.
    static func claims(
        for principal: Principal, audience: String, issuer: String, issuedAt: Date, lifetime: Double
    ) -> [String: JSONValue] {
        let issued = Int(issuedAt.timeIntervalSince1970)
        var claims: [String: JSONValue] = [
            "iss": .string(issuer), "sub": .string(principal.subject), "aud": .string(audience),
            "iat": .int(issued), "nbf": .int(issued), "exp": .int(issued + Int(lifetime)),
            "jti": .string(Base64URL.random(byteCount: 16)), "client_id": .string(principal.clientID ?? "gatehouse-gateway"),
            "act": ["sub": .string(issuer)],
        ]
        if !principal.scopes.isEmpty { claims["scope"] = .string(principal.scopes.sorted().joined(separator: " ")) }
        if let email = principal.email { claims["email"] = .string(email) }
        if let organization = principal.organizationID { claims["org_id"] = .string(organization) }
        if let origin = principal.issuer, origin != issuer { claims["gatehouse_subject_issuer"] = .string(origin) }
        return claims
    }
}
