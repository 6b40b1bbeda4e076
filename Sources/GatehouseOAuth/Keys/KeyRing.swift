import Foundation
import GatehouseAuth
import GatehouseCore

/// The signing keys of the embedded authorization server, backed by the store.
///
/// Private keys are stored sealed by the ``SecretBox`` (`GATEHOUSE_SECRET_KEY`, else a key file
/// of the server's own), so a copy of the database cannot sign tokens. Keys stored unsealed by
/// an older version, or sealed under a key the box only opens with, are sealed again on load.
///
/// The newest key signs. A key replaced by `gatehouse keys rotate` stays in the JWKS until
/// every token it signed has expired (`retiredAt + publishFor`), then it is deleted. Keys are
/// re-read from the store every `reloadInterval`, so a rotation done by another process or
/// instance reaches every instance.
public actor KeyRing {
    private let store: any AuthorizationStore
    private let secrets: SecretBox
    private let publishFor: TimeInterval
    private let reloadInterval: TimeInterval
    private let now: @Sendable () -> Date
    private var keys: [(stored: StoredSigningKey, key: SigningKey)] = []
    private var loadedAt = Date.distantPast

    /// - Parameter publishFor: how long a retired key stays published: the access-token
    ///   lifetime plus clock leeway.
    public init(
        store: any AuthorizationStore, secrets: SecretBox, publishFor: TimeInterval,
        reloadInterval: TimeInterval = 30, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.secrets = secrets
        self.publishFor = publishFor
        self.reloadInterval = reloadInterval
        self.now = now
    }

    /// The key that signs new tokens; creates the first key when the store has none (once,
    /// however many instances start at the same time).
    public func activeKey() async throws -> SigningKey {
        try await reloadIfStale()
        if let active = keys.first(where: { $0.stored.retiredAt == nil }) { return active.key }
        try await change(.ensureActive)
        guard let active = keys.first(where: { $0.stored.retiredAt == nil }) else { throw KeyRingError.noActiveKey }
        return active.key
    }

    /// The public keys to publish, active first.
    public func jwks(forceReload: Bool = false) async throws -> JSONValue {
        if forceReload { loadedAt = .distantPast }
        _ = try await activeKey()
        let cutoff = now().addingTimeInterval(-publishFor)
        let published = keys.filter { ($0.stored.retiredAt ?? .distantFuture) > cutoff }
        return ["keys": .array(published.map(\.key.publicJWK))]
    }

    /// Makes a new key the active one; the previous key is retired but stays published.
    @discardableResult
    public func rotate() async throws -> SigningKey {
        try await change(.rotate)
        guard let active = keys.first(where: { $0.stored.retiredAt == nil }) else { throw KeyRingError.noActiveKey }
        return active.key
    }

    /// Applies a ``SigningKeyRotation`` with a fresh sealed candidate, then reloads.
    private func change(_ mode: SigningKeyRotation.Mode) async throws {
        try await load()  // fails first, changing nothing, when the stored keys cannot be opened
        let key = SigningKey()
        let sealed = try secrets.seal(key.rawRepresentation, what: "the signing key \(key.keyID)")
        let candidate = StoredSigningKey(keyID: key.keyID, privateKey: sealed, createdAt: now())
        _ = try await store.rotateSigningKeys(SigningKeyRotation(mode: mode, candidate: candidate, publishFor: publishFor, now: now()))
        try await load()
    }

    private func reloadIfStale() async throws {
        if now().timeIntervalSince(loadedAt) >= reloadInterval { try await load() }
    }

    private func load() async throws {
        var loaded: [(stored: StoredSigningKey, key: SigningKey)] = []
        for stored in try await store.signingKeys() {
            let what = "the signing key \(stored.keyID)"
            let (raw, needsResealing) = try secrets.openIfSealed(stored.privateKey, what: what)
            if needsResealing {
                try await store.resealSigningKey(keyID: stored.keyID, privateKey: try secrets.seal(raw, what: what))
            }
            loaded.append((stored, try SigningKey(rawRepresentation: raw)))
        }
        keys = loaded
        loadedAt = now()
    }
}

/// The store holds no active signing key even after one was added (another process deleted it).
public enum KeyRingError: Error, CustomStringConvertible {
    case noActiveKey

    public var description: String { "the store has no active signing key; run gatehouse keys rotate" }
}
