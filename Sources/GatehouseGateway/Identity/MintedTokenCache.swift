import Foundation
import GatehouseCore
import Synchronization

/// Upstream tokens minted for callers, reused until a fifth of their lifetime is left, so a
/// busy caller costs one signature per few minutes instead of one per request.
final class MintedTokenCache: Sendable {
    private struct Key: Hashable {
        let issuer: String?
        let subject: String
        let scopes: Set<String>
        let audience: String
    }

    private struct Entry {
        let token: String
        let renewAt: Date
    }

    private let entries = Mutex<[Key: Entry]>([:])
    private let capacity: Int
    private let now: @Sendable () -> Date

    init(capacity: Int = 10_000, now: @escaping @Sendable () -> Date = { Date() }) {
        self.capacity = capacity
        self.now = now
    }

    func token(
        for principal: Principal, audience: String, lifetime: Duration, minter: any UpstreamTokenMinter
    ) async throws(UpstreamFailure) -> String {
        let key = Key(issuer: principal.issuer, subject: principal.subject, scopes: principal.scopes, audience: audience)
        let instant = now()
        if let entry = entries.withLock({ $0[key] }), entry.renewAt > instant { return entry.token }
        let seconds = Double(lifetime.components.seconds)
        let claims = Self.claims(for: principal, audience: audience, issuer: minter.issuer, issuedAt: instant, lifetime: seconds)
        let token: String
        do {
            token = try await minter.sign(claims: claims)
        } catch {
            throw .unavailable("cannot sign a token for the upstream: \(error)")
        }
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(token: token, renewAt: instant.addingTimeInterval(seconds * 0.8))
        }
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
