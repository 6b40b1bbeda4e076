import Foundation
import Synchronization

/// One event to count: the bucket `key` in its fixed window of `windowSeconds` that holds `now`.
public struct RateHit: Sendable, Hashable {
    public var key: String
    /// The start of the window, in whole seconds since 1970.
    public var windowStart: Int64

    public init(key: String, windowSeconds: Int, now: Date) {
        self.key = key
        let seconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let width = Int64(max(1, windowSeconds))
        self.windowStart = seconds - seconds % width
    }

    /// The bucket `key` in the window starting at `windowStart` (seconds since 1970).
    public init(key: String, windowStart: Int64) {
        self.key = key
        self.windowStart = windowStart
    }
}

/// Counts events in fixed windows: where rate limits keep their counts.
///
/// One process counts in memory (``LocalRateCounter``); instances behind a load balancer share
/// a counter in their store (PostgreSQL), so a limit holds for the deployment, not per instance.
public protocol RateCounter: Sendable {
    /// Adds one event to each of `hits` and returns each one's count in its window, this event
    /// included, in the order given. Several hits are counted in one round trip.
    func count(_ hits: [RateHit]) async throws -> [Int]
    /// Forgets windows that started before `cutoff` (seconds since 1970).
    func forgetWindows(startedBefore cutoff: Int64) async throws
}

/// A ``RateCounter`` in this process's memory. Windows that ended are dropped as new ones
/// start; at `capacity` buckets the oldest windows go first.
public final class LocalRateCounter: RateCounter {
    private let capacity: Int
    private let buckets = Mutex<[RateHit: Int]>([:])

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    public func count(_ hits: [RateHit]) -> [Int] {
        buckets.withLock { buckets in
            if buckets.count + hits.count > capacity, let newest = hits.map(\.windowStart).max() {
                buckets = buckets.filter { $0.key.windowStart >= newest }
                if buckets.count + hits.count > capacity { buckets.removeAll(keepingCapacity: true) }
            }
            return hits.map { hit in
                let count = buckets[hit, default: 0] + 1
                buckets[hit] = count
                return count
            }
        }
    }

    public func forgetWindows(startedBefore cutoff: Int64) {
        buckets.withLock { $0 = $0.filter { $0.key.windowStart >= cutoff } }
    }
}
