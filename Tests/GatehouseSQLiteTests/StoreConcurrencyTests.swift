import Foundation
import GatehouseCore
import GatehouseOAuth
import GatehouseSQLite
import Testing

/// Ends the test process when `body` does not finish within `seconds`. A deadlocked
/// cooperative pool cannot run Swift Testing's own time limits, so a thread outside it keeps
/// watch and fails the run loudly instead of letting it hang.
func withDeadlockWatchdog<T>(seconds: Int, _ what: String, _ body: () async throws -> T) async rethrows -> T {
    let finished = DispatchSemaphore(value: 0)
    Thread {
        if finished.wait(timeout: .now() + .seconds(seconds)) == .timedOut {
            FileHandle.standardError.write(Data("deadlock: \(what) did not finish within \(seconds) s\n".utf8))
            exit(70)
        }
    }.start()
    defer { finished.signal() }
    return try await body()
}

@Suite("Store under concurrency")
struct StoreConcurrencyTests {
    /// The hub froze for good when more requests read the store at once than it has readers (5)
    /// plus the machine has cooperative threads: a blocking read parked every thread.
    @Test func manyMoreConcurrentReadsAndWritesThanReadersAndThreadsAllFinish() async throws {
        let store = try SQLiteStore(path: try openFolder().appendingPathComponent("hub.db").path)
        let metadata = try ClientMetadata(registration: ["redirect_uris": ["http://127.0.0.1/cb"]])
        try await store.insertClient(RegisteredClient(id: "c", secretHash: nil, metadata: metadata, registeredAt: Date()))
        let found = try await withDeadlockWatchdog(seconds: 60, "200 reads and 50 writes") {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<250 {
                    group.addTask {
                        if index % 5 == 0 {
                            try await store.insertClient(
                                RegisteredClient(id: "c\(index)", secretHash: nil, metadata: metadata, registeredAt: Date()))
                            return true
                        }
                        return try await store.client(id: "c") != nil
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
        }
        #expect(found == 250)
    }
}
