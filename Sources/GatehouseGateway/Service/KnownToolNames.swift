import Synchronization

/// The exposed names of tools the upstreams really have: listed by one of them, or called
/// successfully. Only these become metric labels and audit values; any other name a caller
/// sends is recorded as `unknown`, so made-up names cannot create new series. Bounded: past
/// `capacity` names, new ones are recorded as `unknown` too.
final class KnownToolNames: Sendable {
    private let names = Mutex<Set<String>>([])
    private let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    func insert<S: Sequence<String>>(_ listed: S) {
        names.withLock { names in
            for name in listed where names.count < capacity { names.insert(name) }
        }
    }

    func contains(_ name: String) -> Bool {
        names.withLock { $0.contains(name) }
    }
}
