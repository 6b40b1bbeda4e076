import Foundation
import GatehouseCore
import GatehouseMCP
import Synchronization
import Testing

@Suite("Session store")
struct SessionStoreTests {
    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        private let offset = Mutex(Duration.zero)
        private let start = ContinuousClock.now
        func advance(_ duration: Duration) { offset.withLock { $0 += duration } }
        var now: ContinuousClock.Instant { start + offset.withLock { $0 } }
    }

    static let alice = SessionStore.Owner(Principal(subject: "alice", issuer: "https://issuer.test"))
    static let bob = SessionStore.Owner(Principal(subject: "bob", issuer: "https://issuer.test"))

    @Test func sessionsBelongToTheirOwner() async throws {
        let store = SessionStore(idleTimeout: .seconds(100), capacity: 10)
        let session = try await store.create(protocolVersion: .v2025_11_25, owner: Self.alice)
        #expect(await store.touch(session.id, owner: Self.bob) == nil)
        #expect(await !store.remove(session.id, owner: Self.bob))
        #expect(await store.touch(session.id, owner: SessionStore.Owner(.anonymous)) == nil)
        #expect(await store.touch(session.id, owner: Self.alice) != nil)
        #expect(await store.remove(session.id, owner: Self.alice))
    }

    @Test func idsAreUniqueVisibleASCII() async throws {
        let store = SessionStore(idleTimeout: .seconds(60), capacity: 1000)
        var ids: [String] = []
        for _ in 0..<500 { ids.append(try await store.create(protocolVersion: .v2025_11_25, owner: Self.alice).id) }
        #expect(Set(ids).count == 500)
        #expect(ids.allSatisfy { $0.count == 43 && $0.unicodeScalars.allSatisfy { (0x21...0x7E).contains($0.value) } })
    }

    @Test func idleSessionsExpire() async throws {
        let clock = ManualClock()
        let store = SessionStore(idleTimeout: .seconds(10), capacity: 10, now: { clock.now })
        let session = try await store.create(protocolVersion: .v2025_06_18, owner: Self.alice)
        clock.advance(.seconds(9))
        #expect(await store.touch(session.id, owner: Self.alice)?.protocolVersion == .v2025_06_18)
        clock.advance(.seconds(9))
        #expect(await store.touch(session.id, owner: Self.alice) != nil, "touching renews the idle timer")
        clock.advance(.seconds(11))
        #expect(await store.touch(session.id, owner: Self.alice) == nil)
        #expect(store.count == 0)
    }

    @Test func fullStoreEvictsTheLeastRecentlyUsed() async throws {
        let clock = ManualClock()
        let store = SessionStore(idleTimeout: .seconds(100), capacity: 2, now: { clock.now })
        let first = try await store.create(protocolVersion: .v2025_11_25, owner: Self.alice)
        clock.advance(.seconds(1))
        let second = try await store.create(protocolVersion: .v2025_11_25, owner: Self.alice)
        clock.advance(.seconds(1))
        _ = await store.touch(first.id, owner: Self.alice)
        clock.advance(.seconds(1))
        let third = try await store.create(protocolVersion: .v2025_11_25, owner: Self.alice)
        #expect(store.count == 2)
        #expect(await store.touch(second.id, owner: Self.alice) == nil)
        #expect(await store.touch(first.id, owner: Self.alice) != nil)
        #expect(await store.touch(third.id, owner: Self.alice) != nil)
    }

    /// Sessions shared by instances, in memory; an end reaches no one (the feed is the test's).
    final class MemorySharedSessions: SharedSessions {
        private let sessions = Mutex<[String: SharedSession]>([:])
        func save(_ session: SharedSession) async throws { sessions.withLock { $0[session.id] = session } }
        func session(id: String) async throws -> SharedSession? { sessions.withLock { $0[id] } }
        func touch(id: String, lastSeen: Date) async throws { sessions.withLock { $0[id]?.lastSeen = lastSeen } }
        func end(id: String) async throws { sessions.withLock { $0[id] = nil } }
        func followEndedSessions(_ notice: @escaping @Sendable (ChangeNotice<String>) -> Void) async {}
    }

    @Test func anEndMissedBeforeTheFeedListensOrWhileItReconnectsIsNotServed() async throws {
        let shared = MemorySharedSessions()
        let (here, there) = (
            SessionStore(idleTimeout: .seconds(100), capacity: 10, shared: shared),
            SessionStore(idleTimeout: .seconds(100), capacity: 10, shared: shared)
        )
        // Before this instance's feed listens, every use asks the shared store.
        let first = try await here.create(protocolVersion: .v2025_11_25, owner: Self.alice)
        #expect(await there.remove(first.id, owner: Self.alice))
        #expect(await here.touch(first.id, owner: Self.alice) == nil, "an end no notice reported was not seen")

        // Listening: copies are used, and a notice drops one.
        here.apply(.listening)
        let second = try await here.create(protocolVersion: .v2025_11_25, owner: Self.alice)
        try await shared.end(id: second.id)
        #expect(await here.touch(second.id, owner: Self.alice) != nil, "listening, the copy is used")
        here.apply(.changed(second.id))
        #expect(await here.touch(second.id, owner: Self.alice) == nil)

        // An end whose notice was lost while the feed reconnected: listening again drops the copy,
        // and a session that still exists is found in the shared store again.
        let (third, fourth) = (
            try await here.create(protocolVersion: .v2025_11_25, owner: Self.alice),
            try await here.create(protocolVersion: .v2025_06_18, owner: Self.alice)
        )
        try await shared.end(id: third.id)
        here.apply(.listening)
        #expect(await here.touch(third.id, owner: Self.alice) == nil)
        #expect(await here.touch(fourth.id, owner: Self.alice)?.protocolVersion == .v2025_06_18)
    }
}
