import Foundation
import Synchronization

/// The failed sign-ins of one account or address, as ``SignInThrottle`` counts them.
public struct SignInFailureRecord: Sendable, Equatable {
    public var failures = 0
    public var lastFailure = Date.distantPast
    public var blockedUntil = Date.distantPast
    public var isLockout = false

    public init(failures: Int = 0, lastFailure: Date = .distantPast, blockedUntil: Date = .distantPast, isLockout: Bool = false) {
        self.failures = failures
        self.lastFailure = lastFailure
        self.blockedUntil = blockedUntil
        self.isLockout = isLockout
    }
}

/// Where ``SignInThrottle`` keeps its records: this process's memory, or the store the instances
/// behind a balancer share (PostgreSQL), so a guesser who spreads attempts over n instances gets
/// no more attempts than against one.
public protocol SignInFailureRecords: Sendable {
    /// The records of those of `keys` that have one.
    func records(_ keys: [String]) async throws -> [String: SignInFailureRecord]
    /// Replaces the record of each of `keys` by `change(record)` (`nil` deletes it), each key's
    /// changes one after another, also across processes; returns the new records.
    func update(
        _ keys: [String], _ change: @escaping @Sendable (String, SignInFailureRecord?) -> SignInFailureRecord?
    ) async throws -> [String: SignInFailureRecord]
}

/// ``SignInFailureRecords`` in this process's memory, at most `capacity` of them: past it,
/// forgotten records (`isForgotten`) go first, then all but the blocked ones.
public final class LocalSignInFailures: SignInFailureRecords {
    private let capacity: Int
    private let isForgotten: @Sendable (SignInFailureRecord, Date) -> Bool
    private let stored = Mutex<[String: SignInFailureRecord]>([:])

    /// - Parameter forgetAfter: seconds after its last failure a record no longer counts.
    public init(capacity: Int = 100_000, forgetAfter: TimeInterval = 900) {
        self.capacity = capacity
        self.isForgotten = { record, now in now.timeIntervalSince(record.lastFailure) > forgetAfter }
    }

    public func records(_ keys: [String]) -> [String: SignInFailureRecord] {
        stored.withLock { stored in keys.reduce(into: [:]) { found, key in found[key] = stored[key] } }
    }

    public func update(
        _ keys: [String], _ change: @escaping @Sendable (String, SignInFailureRecord?) -> SignInFailureRecord?
    ) -> [String: SignInFailureRecord] {
        stored.withLock { stored in
            if stored.count + keys.count > capacity { forgetStale(&stored, now: Date()) }
            var changed: [String: SignInFailureRecord] = [:]
            for key in keys {
                stored[key] = change(key, stored[key])
                changed[key] = stored[key]
            }
            return changed
        }
    }

    private func forgetStale(_ stored: inout [String: SignInFailureRecord], now: Date) {
        stored = stored.filter { !isForgotten($0.value, now) }
        if stored.count >= capacity { stored = stored.filter { $0.value.blockedUntil > now } }
    }
}
