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
    func bucketsCountApartInWindowsOfTheirOwn(backend: Backend) async throws {
        let counter = try await backend.make()
        let (a, b) = (RateHit(key: "a", windowSeconds: 60), RateHit(key: "b", windowSeconds: 10))
        #expect(try await counter.count([a, b], at: epoch) == [RateCount(events: 1, windowStart: epoch), RateCount(events: 1, windowStart: epoch)])
        #expect(try await counter.count([b, a], at: epoch + 5).map(\.events) == [2, 2])
        // b's window closed at +10; a's is open until +60.
        #expect(try await counter.count([a, b], at: epoch + 30) == [
            RateCount(events: 3, windowStart: epoch), RateCount(events: 1, windowStart: epoch + 30),
        ])
        #expect(try await counter.count([], at: epoch) == [])
        try await counter.forgetWindows(closedBefore: epoch + 61)
        #expect(try await counter.count([a], at: epoch + 31) == [RateCount(events: 1, windowStart: epoch + 31)])
    }

    /// Concurrent requests each get a count of their own: 1...N exactly once, so exactly the
    /// allowed number pass a limit, whichever instance counts them.
    @Test(arguments: backends)
    func concurrentCountsAreEachCountedOnce(backend: Backend) async throws {
        let counter = try await backend.make()
        let hit = RateHit(key: "busy", windowSeconds: 3600)
        let counts = try await concurrently(40) { index in
            try await counter.count([hit, RateHit(key: "other", windowSeconds: 1)], at: epoch + Double(index) / 100)[0]
        }
        #expect(counts.map(\.events).sorted() == Array(1...40))
        #expect(Set(counts.map(\.windowStart)).count == 1)
    }
}
