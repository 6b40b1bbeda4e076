import Foundation

/// What a change of signing keys does to the stored keys, as a value every store applies the
/// same way in one transaction.
///
/// A new key becomes the active one and retires the keys active until then; retired keys stay
/// published until every token they signed has expired (`publishFor` after retirement), then
/// they are deleted. Making sure a key exists is idempotent: when several instances start at
/// once on one store, the first adds a key and the others find it and add none.
public struct SigningKeyRotation: Sendable {
    public enum Mode: Sendable, Equatable {
        /// Add `candidate` only when no key is active (the first start).
        case ensureActive
        /// Make `candidate` the active key whatever is there (`gatehouse keys rotate`).
        case rotate
    }

    public var mode: Mode
    /// The new key, sealed, to add when the rotation calls for one.
    public var candidate: StoredSigningKey
    /// How long a retired key stays published: the access-token lifetime plus clock leeway.
    public var publishFor: TimeInterval
    public var now: Date

    public init(mode: Mode, candidate: StoredSigningKey, publishFor: TimeInterval, now: Date) {
        self.mode = mode
        self.candidate = candidate
        self.publishFor = publishFor
        self.now = now
    }

    /// The changes to make to `keys`, the keys as stored.
    public func plan(_ keys: [StoredSigningKey]) -> Plan {
        let active = keys.filter { $0.retiredAt == nil }
        let cutoff = now.addingTimeInterval(-publishFor)
        let expired = keys.filter { ($0.retiredAt ?? .distantFuture) < cutoff }.map(\.keyID)
        guard mode == .rotate || active.isEmpty else { return Plan(retire: [], add: nil, delete: expired) }
        return Plan(retire: active.map(\.keyID), add: candidate, delete: expired)
    }

    /// Changes to the stored keys.
    public struct Plan: Sendable, Equatable {
        /// Keys to mark retired now.
        public var retire: [String]
        /// The key to add as the active one, if any.
        public var add: StoredSigningKey?
        /// Keys whose tokens have all expired.
        public var delete: [String]

        public init(retire: [String], add: StoredSigningKey?, delete: [String]) {
            self.retire = retire
            self.add = add
            self.delete = delete
        }
    }
}
