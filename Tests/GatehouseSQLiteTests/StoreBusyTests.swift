import Foundation
import GatehouseCore
import GatehouseOAuth
import GatehouseSQLite
import GRDB
import Testing

@Suite("SQLite store while another process holds the lock")
struct StoreBusyTests {
    /// Another process (here: a connection of its own) holds the write lock for 8 s while three
    /// writes are queued: each is refused as `StoreUnavailable` within its 5 s deadline (plus
    /// scheduling slack), instead of being answered one busy timeout after another (5, 10, 15 s),
    /// and none of them is applied later. Once the lock is released, writes go through again.
    @Test func queuedWritesGiveUpAtTheDeadlineAndApplyNothing() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("busy-\(UUID().uuidString)/hub.db").path
        let store = try SQLiteStore(path: path)
        var lockerConfiguration = Configuration()
        lockerConfiguration.allowsUnsafeTransactions = true  // the lock is held across two accesses
        let locker = try DatabaseQueue(path: path, configuration: lockerConfiguration)
        try locker.inDatabase { try $0.execute(sql: "BEGIN EXCLUSIVE") }
        let started = ContinuousClock.now
        let outcomes = await withTaskGroup(of: (Bool, Duration).self) { group in
            for index in 0..<3 {
                group.addTask {
                    do {
                        try await store.insertLocalUserForTest(email: "queued\(index)@example.com")
                        return (true, ContinuousClock.now - started)
                    } catch {
                        return (error is any StoreUnavailable, ContinuousClock.now - started)
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { refused, _ in refused }, "\(outcomes)")
        // Each within its own 5 s deadline and some scheduling slack: queued one after another, the
        // second and third would have been answered after 10 and 15 s.
        #expect(outcomes.allSatisfy { _, elapsed in elapsed < .milliseconds(7_500) }, "\(outcomes)")
        try? await Task.sleep(until: started + .seconds(8))
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
