import GatehouseCore
import NIOCore
import Synchronization

/// The open connections of one listener, and which of them are idle, so that a new client can
/// take the place of the connection idle longest when the cap is reached (nginx reuses idle
/// keep-alive connections the same way). A flood of idle or half-sent connections then delays
/// nobody: each newcomer evicts one of them instead of waiting in the backlog for it to time out.
/// Connections reading a body or being handled are never evicted.
final class ConnectionCensus: Sendable {
    /// One connection: its channel, and since when it has been evictable (0: busy).
    final class Slot: Sendable {
        let channel: any Channel
        /// `ContinuousClock` nanoseconds since the census began, plus one; 0 while the connection is busy.
        private let evictableSince = Atomic<Int64>(0)

        init(channel: any Channel) { self.channel = channel }

        /// Marks the connection evictable (idle, reading a head, closing) or busy.
        func set(evictable: Bool, census: ConnectionCensus) {
            evictableSince.store(evictable ? census.stamp() : 0, ordering: .relaxed)
        }

        var since: Int64 { evictableSince.load(ordering: .relaxed) }

        fileprivate func markEvicted() { evictableSince.store(0, ordering: .relaxed) }
    }

    let capacity: Int
    private let start = ContinuousClock.now
    private let slots = Mutex<[ObjectIdentifier: Slot]>([:])

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Counts a new connection; at the cap, closes the connection evictable longest.
    func admit(_ channel: any Channel) -> Slot {
        let slot = Slot(channel: channel)
        let victim = slots.withLock { slots -> Slot? in
            slots[ObjectIdentifier(slot)] = slot
            guard slots.count >= capacity else { return nil }
            let victim = slots.values.filter { $0.since > 0 && $0 !== slot }.min { $0.since < $1.since }
            victim?.markEvicted()  // closing takes a moment; never pick it twice
            return victim
        }
        victim?.channel.close(promise: nil)
        return slot
    }

    /// Forgets a closed connection.
    func remove(_ slot: Slot) {
        _ = slots.withLock { $0.removeValue(forKey: ObjectIdentifier(slot)) }
    }

    /// The number of open connections.
    var count: Int { slots.withLock { $0.count } }

    fileprivate func stamp() -> Int64 {
        (ContinuousClock.now - start).inNanoseconds + 1
    }
}
