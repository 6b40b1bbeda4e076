import Foundation
import GatehouseCore
import GatehousePostgres
import Testing

/// What every ``RateCounter`` must do: this process's memory, and the PostgreSQL store that
/// instances behind a balancer share.
@Suite("RateCounter conformance")
struct RateCounterConformance {
    struct Backend: Sendable, CustomTestStringConvertible {
        let name: String
        let make: @Sendable () async throws -> any RateCounter
        var testDescription: String { name }
    }

    static let backends: [Backend] = [Backend(name: "memory") { LocalRateCounter() }]
        + (StoreBackend.postgresURL.map { url in [Backend(name: "PostgreSQL") { try await StoreBackend.newPostgresStore(url) }] } ?? [])

    @Test(arguments: backends)
    func bucketsAndWindowsCountApart(backend: Backend) async throws {
        let counter = try await backend.make()
        let a = RateHit(key: "a", windowSeconds: 60, now: epoch)
        let b = RateHit(key: "b", windowSeconds: 60, now: epoch)
        #expect(try await counter.count([a, b]) == [1, 1])
        #expect(try await counter.count([b, a]) == [2, 2])
        #expect(try await counter.count([RateHit(key: "a", windowSeconds: 60, now: epoch + 60)]) == [1])
        #expect(try await counter.count([]) == [])
        try await counter.forgetWindows(startedBefore: a.windowStart + 60)
        #expect(try await counter.count([a]) == [1])
    }

    /// Concurrent requests each get a count of their own: 1...N exactly once, so exactly the
    /// allowed number pass a limit, whichever instance counts them.
    @Test(arguments: backends)
    func concurrentCountsAreEachCountedOnce(backend: Backend) async throws {
        let counter = try await backend.make()
        let hit = RateHit(key: "busy", windowSeconds: 3600, now: epoch)
        let counts = try await concurrently(40) { _ in try await counter.count([hit, RateHit(key: "other", windowSeconds: 1, now: epoch)])[0] }
        #expect(counts.sorted() == Array(1...40))
    }
}
