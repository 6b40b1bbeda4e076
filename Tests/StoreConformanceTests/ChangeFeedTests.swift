import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseHub
import GatehouseMCP
@testable import GatehousePostgres
import Synchronization
import Testing

/// Two instances on one PostgreSQL database: a tool change made on one reaches the other's
/// hub through LISTEN/NOTIFY, and a notice sent while the other was not listening (before its
/// feed started, or while it reconnected) cannot leave it serving a stale copy.
@Suite("PostgreSQL change feed", .enabled(if: StoreBackend.postgresURL != nil))
struct ChangeFeedTests {
    static let alice = Principal(subject: "usr_alice", issuer: "https://issuer.test", email: "alice@example.com")

    /// One instance: its own connections to the shared schema, and a hub with a cache lifetime
    /// long enough that only a notice (or its absence) explains what the test sees.
    struct Instance {
        let store: PostgresStore
        let hub: Hub

        init(url: String) async throws {
            store = try await PostgresStore.open(try PostgresSettings(url: url))
            hub = Hub(
                store: store, catalog: .standard(allowPrivateFetches: false), secrets: SecretBox(key: nil), oauthProvider: "embedded",
                cacheLifetime: 3600)
        }

        func toolNames() async throws -> Set<String> {
            Set(try await hub.tools(for: ChangeFeedTests.alice).tools.map(\.name))
        }
    }

    /// Counts the times a feed reported that it listens.
    final class Listenings: Sendable {
        private let count = Mutex(0)
        func heard() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }

        func wait(for expected: Int) async throws {
            let deadline = ContinuousClock.now + .seconds(15)
            while value < expected {
                guard ContinuousClock.now < deadline else { throw CancellationError() }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    static func sharedSchemaURL() throws -> String {
        let url = try #require(StoreBackend.postgresURL)
        let schema = "feed_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return url + (url.contains("?") ? "&" : "?") + "schema=" + schema
    }

    /// Polls `condition` for up to 5 s; a notice normally arrives in milliseconds.
    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    @Test func noStaleCopyBeforeTheFeedListensOrAfterItReconnects() async throws {
        let url = try Self.sharedSchemaURL()
        let (reader, writer) = (try await Instance(url: url), try await Instance(url: url))
        defer { Task { await reader.store.close(); await writer.store.close() } }
        let userID = try await reader.hub.users.user(for: Self.alice).id

        // Before the reader's feed listens, a change whose notice it cannot hear shows at once.
        #expect(try await reader.toolNames().isDisjoint(with: ["memory_set"]))
        _ = try await writer.store.activateTool(userID: userID, name: "memory", configuration: "{}", now: Date())
        #expect(try await reader.toolNames().contains("memory_set"), "served a copy taken before its feed listened")

        let listenings = Listenings()
        let feed = Task {
            await reader.store.followToolChanges { notice in
                if notice == .listening { listenings.heard() }
                reader.hub.apply(notice)
            }
        }
        defer { feed.cancel() }
        try await listenings.wait(for: 1)

        // Listening: the copy is kept, and a change on the other instance drops it.
        #expect(try await reader.toolNames().contains("memory_set"))
        _ = try await writer.store.deactivateTool(userID: userID, name: "memory", deleting: [])
        #expect(try await Self.eventually { try await reader.toolNames().isDisjoint(with: ["memory_set"]) })

        // The listening connection dies; a change made before the feed listens again is not
        // notified to it, and the copy it held is dropped when it does.
        try await writer.store.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()"
        )
        _ = try await writer.store.activateTool(userID: userID, name: "memory", configuration: "{}", now: Date())
        try await listenings.wait(for: 2)
        #expect(try await reader.toolNames().contains("memory_set"), "a change missed while reconnecting stayed unseen")
    }

    @Test func aCallRightAfterAnAddElsewhereFindsTheToolBeforeItsNoticeArrives() async throws {
        let url = try Self.sharedSchemaURL()
        let (reader, writer) = (try await Instance(url: url), try await Instance(url: url))
        let userID = try await reader.hub.users.user(for: Self.alice).id
        reader.hub.apply(.listening)  // as if its feed listened, but no notice will reach it
        #expect(try await reader.toolNames().isDisjoint(with: ["memory_set"]))

        _ = try await writer.store.activateTool(userID: userID, name: "memory", configuration: "{}", now: Date())
        #expect(try await reader.hub.tool(named: "memory_set", for: Self.alice) != nil)
        #expect(try await reader.hub.tool(named: "no_such_tool", for: Self.alice) == nil)
        // tools/list may lag until the notice arrives: the window docs/scaling.md describes.
        #expect(try await reader.toolNames().isDisjoint(with: ["memory_set"]))
    }
}
