import Foundation
import GatehouseCore
import JWTKit
import Logging

/// The signing keys of one issuer, fetched from its JWKS endpoint and kept fresh.
///
/// - Keys are trusted for `ttl`, then fetched again.
/// - At most one fetch is in flight, and fetches start at most once per `refetchInterval`,
///   whatever the tokens say, so tokens with random kids cannot cause a fetch storm.
/// - A token naming an unknown `kid` (the issuer rotated its keys) joins the fetch in flight,
///   or starts one, or waits for the next permitted one, at most `refetchInterval`. A flood
///   of random kids therefore cannot deny a real rotation: its first token is verified within
///   `refetchInterval`, never refused because some other token asked first.
/// - When a fetch fails, the last good keys stay in use; only with no keys at all is
///   verification impossible (``VerificationFailure/providerUnavailable(_:)``), and then
///   requests fail at once until the next permitted fetch instead of each waiting for one.
///
/// jwt-kit falls back to its default key when a `kid` is unknown, so the cache resolves
/// the `kid` itself and hands jwt-kit a collection holding exactly that one key, with the
/// algorithm pinned to the one the key allows.
public actor JWKSCache {
    public typealias Fetch = @Sendable () async throws -> Data

    private let fetch: Fetch
    private let ttl: Duration
    private let refetchInterval: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let logger: Logger

    private var keys: [String: JWK] = [:]
    private var fetchedAt: ContinuousClock.Instant?
    /// When the last fetch started, and how many have started: a waiter whose count has moved on
    /// was served by a fetch that began after it asked.
    private var lastFetchStarted: ContinuousClock.Instant?
    private var fetchesStarted = 0
    private var lastFailure: ContinuousClock.Instant?
    private var inFlight: Task<[String: JWK], any Error>?
    private var prepared: [String: JWTKeyCollection] = [:]

    /// Kid under which a key without `kid` is stored; only used when it is the only key.
    private static let anonymousKeyID = "\u{0}no-kid"

    public init(
        ttl: Duration = .seconds(300), refetchInterval: Duration = .seconds(2), logger: Logger,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        fetch: @escaping Fetch
    ) {
        self.fetch = fetch
        self.ttl = ttl
        self.refetchInterval = refetchInterval
        self.now = now
        self.logger = logger
    }

    /// A single-key collection that verifies signatures of `algorithm` by the key `kid`,
    /// or `nil` when the issuer publishes no such key (after a fetch that began after asking).
    func verifier(kid: String?, algorithm: String) async throws(VerificationFailure) -> JWTKeyCollection? {
        if fetchedAt.map({ now() - $0 >= ttl }) ?? true {
            if keys.isEmpty, let lastFailure, now() - lastFailure < refetchInterval {
                throw Self.unavailable
            }
            try await refresh(reason: fetchedAt == nil ? "first use" : "cache expired")
        }
        var key = lookup(kid)
        if key == nil {
            try await refreshForUnknownKid(kid)
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

    /// Makes sure a fetch that started after this call has finished: joins the one in flight
    /// (which began earlier, maybe before a rotation, so the kid is looked up again after it),
    /// then starts one when the interval allows, or waits (at most `refetchInterval`) for the
    /// next permitted one, which one of the waiters starts and all of them share.
    private func refreshForUnknownKid(_ kid: String?) async throws(VerificationFailure) {
        let asked = fetchesStarted
        if inFlight != nil {
            try await refresh(reason: "unknown kid")
            if lookup(kid) != nil { return }
        }
        if let lastFetchStarted, now() < lastFetchStarted + refetchInterval {
            try? await Task.sleep(for: min(refetchInterval, now().duration(to: lastFetchStarted + refetchInterval)))
        }
        if fetchesStarted > asked {
            // Another waiter started a fetch after this one asked: share it.
            if inFlight != nil { try await refresh(reason: "unknown kid") }
            return
        }
        try await refresh(reason: "unknown kid")
    }

    private func refresh(reason: String) async throws(VerificationFailure) {
        let task: Task<[String: JWK], any Error>
        if let inFlight {
            task = inFlight
        } else {
            lastFetchStarted = now()
            fetchesStarted += 1
            let fetch = self.fetch
            task = Task { try Self.parse(try await GatehouseMetrics.timedFetch("jwks", fetch)) }
            inFlight = task
        }
        do {
            let fresh = try await task.value
            if inFlight == task {
                inFlight = nil
                keys = fresh
                prepared = [:]
                fetchedAt = now()
                lastFailure = nil
                logger.debug("fetched JWKS", metadata: ["keys": "\(fresh.count)", "reason": "\(reason)"])
            }
        } catch {
            if inFlight == task {
                inFlight = nil
                lastFailure = now()
            }
            guard !keys.isEmpty else { throw Self.unavailable }
            // Keep serving with the last good keys; try again after the interval.
            fetchedAt = fetchedAt.map { max($0, now() - ttl + refetchInterval) }
            logger.warning("JWKS fetch failed; using the last good keys", metadata: ["error": "\(error)"])
        }
    }

    private static let unavailable = VerificationFailure.providerUnavailable("the token issuer's signing keys cannot be fetched right now")

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
            throw .invalidToken(.algorithmMismatch(algorithm))
        }
        var pinned = jwk
        pinned.algorithm = JWK.Algorithm(rawValue: algorithm)
        pinned.keyIdentifier = JWKIdentifier(string: id)
        let collection = JWTKeyCollection()
        do {
            try await collection.add(jwk: pinned)
        } catch {
            throw .invalidToken(.unusableKey(algorithm: algorithm))
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
