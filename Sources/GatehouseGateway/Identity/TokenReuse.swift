import Foundation
import Synchronization

/// Tokens the gateway obtained for upstreams (minted or exchanged), kept until four fifths of
/// their lifetime have passed, so a busy caller costs one signature or exchange per few minutes
/// instead of one per request. Bounded: when full, it starts over.
final class TokenReuse<Key: Hashable & Sendable>: Sendable {
    private struct Entry {
        let token: String
        let renewAt: Date
    }

    private let entries = Mutex<[Key: Entry]>([:])
    private let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// The token kept for `key`, while it is not yet due for renewal at `now`.
    func token(for key: Key, at now: Date) -> String? {
        guard let entry = entries.withLock({ $0[key] }), entry.renewAt > now else { return nil }
        return entry.token
    }

    /// Keeps `token`, obtained at `issuedAt` and valid for `lifetime` seconds.
    func keep(_ token: String, for key: Key, issuedAt: Date, lifetime: TimeInterval) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(token: token, renewAt: issuedAt.addingTimeInterval(lifetime * 0.8))
        }
    }
}
