import Foundation
import Synchronization

/// One event to count in the bucket `key`, whose window of `windowSeconds` opens at the bucket's
/// first event and closes `windowSeconds` later (there is no shared boundary, such as the top
/// of each minute, at which every bucket refills together).
public struct RateHit: Sendable, Hashable {
    public var key: String
    public var windowSeconds: Int

    public init(key: String, windowSeconds: Int) {
        self.key = key
        self.windowSeconds = max(1, windowSeconds)
    }
}

/// A bucket after an event: the events in its window, this one included, and when the window opened.
public struct RateCount: Sendable, Equatable {
    public var events: Int
    public var windowStart: Date

    public init(events: Int, windowStart: Date) {
        self.events = events
        self.windowStart = windowStart
    }

    /// Whole seconds from `now` until the window closes (at least 1), for `Retry-After`.
    public func secondsLeft(windowSeconds: Int, now: Date) -> Int {
        max(1, Int((windowStart.timeIntervalSince(now) + Double(windowSeconds)).rounded(.up)))
    }
}

/// Counts events per bucket: where rate limits keep their counts.
///
/// One process counts in memory (``LocalRateCounter``); instances behind a load balancer share
/// a counter in their store (PostgreSQL), so a limit holds for the deployment, not per instance.
public protocol RateCounter: Sendable {
    /// Adds one event at `now` to each of `hits` (a bucket without an open window opens one at
    /// `now`) and returns each bucket's count, in the order given. Several hits are counted in
    /// one round trip.
    func count(_ hits: [RateHit], at now: Date) async throws -> [RateCount]
    /// Forgets buckets whose window closed before `cutoff`.
    func forgetWindows(closedBefore cutoff: Date) async throws
}

/// A ``RateCounter`` in this process's memory. Buckets whose window closed are dropped when
/// `capacity` is reached; if every bucket is still open then, all are forgotten.
public final class LocalRateCounter: RateCounter {
    private struct Bucket {
        var windowStart: Date
        var windowSeconds: Int
        var events: Int
        func isOpen(at now: Date) -> Bool { now.timeIntervalSince(windowStart) < Double(windowSeconds) }
    }

    private let capacity: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    public func count(_ hits: [RateHit], at now: Date) -> [RateCount] {
        buckets.withLock { buckets in
            if buckets.count + hits.count > capacity {
                buckets = buckets.filter { $0.value.isOpen(at: now) }
                if buckets.count + hits.count > capacity { buckets.removeAll(keepingCapacity: true) }
            }
            return hits.map { hit in
                var bucket = buckets[hit.key].flatMap { $0.isOpen(at: now) ? $0 : nil }
                    ?? Bucket(windowStart: now, windowSeconds: hit.windowSeconds, events: 0)
                bucket.events += 1
                buckets[hit.key] = bucket
                return RateCount(events: bucket.events, windowStart: bucket.windowStart)
            }
        }
    }

    public func forgetWindows(closedBefore cutoff: Date) {
        buckets.withLock { $0 = $0.filter { $0.value.windowStart.addingTimeInterval(Double($0.value.windowSeconds)) >= cutoff } }
    }
}
