import Foundation
import GatehouseOAuth
import GatehousePostgres
import Testing

/// What every ``SignInFailureRecords`` must do: this process's memory, and the PostgreSQL store
/// that instances behind a balancer share.
@Suite("SignInFailureRecords conformance")
struct SignInFailureRecordsConformance {
    struct Backend: Sendable, CustomTestStringConvertible {
        let name: String
        let make: @Sendable () async throws -> any SignInFailureRecords
        var testDescription: String { name }
    }

    static let backends: [Backend] = [Backend(name: "memory") { LocalSignInFailures() }]
        + (StoreBackend.postgresURL.map { url in [Backend(name: "PostgreSQL") { try await StoreBackend.newPostgresStore(url) }] } ?? [])

    @Test(arguments: backends)
    func recordsAreKeptChangedAndDeleted(backend: Backend) async throws {
        let records = try await backend.make()
        let blocked = SignInFailureRecord(failures: 6, lastFailure: epoch, blockedUntil: epoch + 1, isLockout: false)
        let changed = try await records.update(["account:ada", "address:10.0.0.1"]) { key, old in
            #expect(old == nil)
            return key == "account:ada" ? blocked : SignInFailureRecord(failures: 1, lastFailure: epoch)
        }
        #expect(changed["account:ada"] == blocked)
        #expect(try await records.records(["account:ada", "account:nobody"]) == ["account:ada": blocked])
        _ = try await records.update(["account:ada"]) { _, _ in nil }
        #expect(try await records.records(["account:ada", "address:10.0.0.1"]).keys.sorted() == ["address:10.0.0.1"])
    }

    /// Failures counted at once, as on several instances, are each counted: the throttle's rule
    /// sees every earlier one.
    @Test(arguments: backends)
    func concurrentFailuresAreEachCounted(backend: Backend) async throws {
        let throttle = SignInThrottle(records: try await backend.make())
        let results = try await concurrently(30) { index in
            try await throttle.recordFailure(account: "ada@example.com", address: "10.0.\(index).1", now: epoch)
        }
        #expect(results.map(\.failures).sorted() == Array(1...30))
        // Past the five free failures every one is blocked; the last the longest.
        #expect(results.filter { $0.block != nil }.count == 25)
        #expect(try await throttle.block(account: "ADA@example.com ", address: "192.0.2.1", now: epoch)?.scope == .account)
    }
}
