import Foundation
import GatehouseCore
import JWTKit
import Logging

/// The signing keys of one issuer, fetched from its JWKS endpoint and kept fresh.
///
/// - Keys are trusted for `ttl`, then fetched again.
/// - A token naming an unknown `kid` triggers a refetch (keys rotate), at most once per
///   `refetchCooldown`, so tokens with random kids cannot cause a fetch storm.
/// - Concurrent callers share one fetch (single flight).
/// - When a fetch fails, the last good keys stay in use; only with no keys at all is
///   verification impossible (``VerificationFailure/providerUnavailable(_:)``).
///
/// jwt-kit falls back to its default key when a `kid` is unknown, so the cache resolves
/// the `kid` itself and hands jwt-kit a collection holding exactly that one key, with the
/// algorithm pinned to the one the key allows.
public actor JWKSCache {
    public typealias Fetch = @Sendable () async throws -> Data

    private let fetch: Fetch
    private let ttl: Duration
    private let refetchCooldown: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let logger: Logger

    private var keys: [String: JWK] = [:]
    private var fetchedAt: ContinuousClock.Instant?
    private var lastAttempt: ContinuousClock.Instant?
    private var inFlight: Task<[String: JWK], any Error>?
    private var prepared: [String: JWTKeyCollection] = [:]

    /// Kid under which a key without `kid` is stored; only used when it is the only key.
    private static let anonymousKeyID = "\u{0}no-kid"

    public init(
        ttl: Duration = .seconds(300), refetchCooldown: Duration = .seconds(10), logger: Logger,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        fetch: @escaping Fetch
    ) {
        self.fetch = fetch
        self.ttl = ttl
        self.refetchCooldown = refetchCooldown
        self.now = now
        self.logger = logger
    }

    /// A single-key collection that verifies signatures of `algorithm` by the key `kid`,
    /// or `nil` when the issuer publishes no such key (after one refetch if allowed).
    func verifier(kid: String?, algorithm: String) async throws(VerificationFailure) -> JWTKeyCollection? {
        if fetchedAt.map({ now() - $0 >= ttl }) ?? true {
            try await refresh(reason: fetchedAt == nil ? "first use" : "cache expired")
        }
        var key = lookup(kid)
        if key == nil, lastAttempt.map({ now() - $0 >= refetchCooldown }) ?? true {
            try await refresh(reason: "unknown kid")
            key = lookup(kid)
        }
        guard let (id, jwk) = key else { return nil }
        return try await prepare(jwk, id: id, algorithm: algorithm)
    }

    private func lookup(_ kid: String?) -> (String, JWK)? {
        if let kid { return keys[kid].map { (kid, $0) } }
        // A token without kid is acceptable only when the issuer has exactly one key.
        return keys.count == 1 ? keys.first.map { ($0.key, $0.value) } : nil
    }

    private func refresh(reason: String) async throws(VerificationFailure) {
        let task: Task<[String: JWK], any Error>
        if let inFlight {
            task = inFlight
        } else {
            lastAttempt = now()
            let fetch = self.fetch
            task = Task { try Self.parse(try await fetch()) }
            inFlight = task
        }
        do {
            let fresh = try await task.value
            if inFlight == task {
                inFlight = nil
                keys = fresh
                prepared = [:]
                fetchedAt = now()
                logger.debug("fetched JWKS", metadata: ["keys": "\(fresh.count)", "reason": "\(reason)"])
            }
        } catch {
            if inFlight == task { inFlight = nil }
            guard !keys.isEmpty else {
                throw .providerUnavailable("the token issuer's signing keys cannot be fetched right now")
            }
            // Keep serving with the last good keys; try again after the cooldown.
            fetchedAt = fetchedAt.map { max($0, now() - ttl + refetchCooldown) }
            logger.warning("JWKS fetch failed; using the last good keys", metadata: ["error": "\(error)"])
        }
    }

    /// The keys of a JWKS document usable for signatures; unusable keys are skipped one by one
    /// (jwt-kit's `add(jwks:)` would reject the whole set over one exotic key).
    ///
    /// - Throws: ``UnusableKeySet`` when the document is not a JWKS or holds no usable key, so a
    ///   glitching endpoint (an HTML error page with status 200, `{"keys":[]}`) counts as a failed
    ///   fetch and the last good keys stay in use.
    static func parse(_ data: Data) throws(UnusableKeySet) -> [String: JWK] {
        guard case .object(let document)? = try? JSONValue.parse(data), case .array(let entries)? = document["keys"] else {
            throw UnusableKeySet(reason: "the JWKS document is not a JSON object with a keys array")
        }
        var keys: [String: JWK] = [:]
        for case .object(let entry) in entries {
            // Only public signature keys: no `use` other than "sig", no private or symmetric material.
            if let use = entry["use"], use != .string("sig") { continue }
            guard entry["d"] == nil, entry["kty"] != .string("oct") else { continue }
            guard let encoded = try? JSONEncoder().encode(JSONValue.object(entry)),
                let jwk = try? JSONDecoder().decode(JWK.self, from: encoded)
            else { continue }
            keys[jwk.keyIdentifier?.string ?? anonymousKeyID] = jwk
        }
        if keys.count > 1 { keys[anonymousKeyID] = nil }
        guard !keys.isEmpty else { throw UnusableKeySet(reason: "the JWKS holds no usable signature key") }
        return keys
    }

    /// A JWKS document that cannot be used.
    struct UnusableKeySet: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    private func prepare(_ jwk: JWK, id: String, algorithm: String) async throws(VerificationFailure) -> JWTKeyCollection {
        let cacheKey = id + "|" + algorithm
        if let collection = prepared[cacheKey] { return collection }
        guard Self.keyAllows(jwk, algorithm: algorithm) else {
            throw .invalidToken("the token's alg \(algorithm) does not match its signing key")
        }
        var pinned = jwk
        pinned.algorithm = JWK.Algorithm(rawValue: algorithm)
        pinned.keyIdentifier = JWKIdentifier(string: id)
        let collection = JWTKeyCollection()
        do {
            try await collection.add(jwk: pinned)
        } catch {
            throw .invalidToken("the issuer's signing key cannot verify \(algorithm) tokens")
        }
        prepared[cacheKey] = collection
        return collection
    }

    /// True when `jwk` may verify `algorithm`: the key type and curve fit, and a key that
    /// names its own `alg` is used for that algorithm only (RFC 7517 §4.4).
    static func keyAllows(_ jwk: JWK, algorithm: String) -> Bool {
        if let own = jwk.algorithm, own.rawValue != algorithm { return false }
        switch algorithm {
        case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512": return jwk.keyType == .rsa
        case "ES256": return jwk.keyType == .ecdsa && jwk.curve?.rawValue == "P-256"
        case "ES384": return jwk.keyType == .ecdsa && jwk.curve?.rawValue == "P-384"
        case "EdDSA": return jwk.keyType == .octetKeyPair && jwk.curve?.rawValue == "Ed25519"
        default: return false
        }
    }
}
