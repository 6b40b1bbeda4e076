import Foundation
import GatehouseCore
import GatehouseOAuth
import GatehouseSQLite
import GRDB
import Testing

@Suite("SQLite store while another process holds the lock")
struct StoreBusyTests {
    /// Another process (here: a connection of its own) holds the write lock while three writes
    /// are queued: each is refused as `StoreUnavailable` within its 5 s deadline (plus
    /// scheduling slack), instead of being answered one busy timeout after another (5, 10, 15 s),
    /// and none of them is applied later. Once the lock is released, writes go through again.
    @Test func queuedWritesGiveUpAtTheDeadlineAndApplyNothing() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("busy-\(UUID().uuidString)/hub.db").path
        let store = try SQLiteStore(path: path)
        var lockerConfiguration = Configuration()
        lockerConfiguration.allowsUnsafeTransactions = true  // the lock is held across two accesses
        let locker = try DatabaseQueue(path: path, configuration: lockerConfiguration)
        try locker.inDatabase { try $0.execute(sql: "BEGIN EXCLUSIVE") }
        // Each write is timed from when it was asked for: on a machine busy with other tests a
        // task may start seconds after it was added, and its deadline counts from its start.
        let outcomes = await withTaskGroup(of: (refused: Bool, elapsed: Duration).self) { group in
            for index in 0..<3 {
                group.addTask {
                    let asked = ContinuousClock.now
                    do {
                        try await store.insertLocalUserForTest(email: "queued\(index)@example.com")
                        return (false, asked.duration(to: .now))
                    } catch {
                        return (error is any StoreUnavailable, asked.duration(to: .now))
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        // The lock is still held: no write could have gone through.
        #expect(outcomes.allSatisfy { $0.refused }, "\(outcomes)")
        // Queued one after another, the three would have been answered after 5, 10 and 15 s. Here
        // they come together, after the one 5 s deadline, plus slack for this test process: with
        // every suite running at once its threads may be busy for seconds (CI saw 3.4 s), and then
        // all three answers reach the test late, together.
        let elapsed = outcomes.map(\.elapsed)
        #expect(elapsed.max()! - elapsed.min()! < .milliseconds(2_500), "\(outcomes)")
        #expect(elapsed.allSatisfy { $0 < .seconds(12) }, "\(outcomes)")
        try locker.inDatabase { try $0.execute(sql: "COMMIT") }
        try await store.insertLocalUserForTest(email: "after@example.com")
        #expect(try await store.localUserCount() == 1)
    }
}

extension SQLiteStore {
    /// One write through the store's public surface.
    fileprivate func insertLocalUserForTest(email: String) async throws {
        _ = try await insertLocalUser(
            GatehouseOAuth.LocalUser(id: "usr_" + email, email: email, name: nil, passwordHash: nil, createdAt: Date()))
    }
}
