import Foundation
import GatehouseHub
import GatehouseCore
import GatehouseOAuth
import GatehousePostgres
import GatehouseSQLite
import Testing

/// One store backend under test: how to make a fresh, empty store of that kind. Every test in
/// this target runs against each; a new backend (PostgreSQL) joins by adding itself to ``all``.
struct StoreBackend: Sendable, CustomTestStringConvertible {
    typealias Store = any AuthorizationStore & HubStore & ConnectionStore

    let name: String
    let make: @Sendable () async throws -> Store

    var testDescription: String { name }

    static let sqlite = StoreBackend(name: "SQLite") {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-conformance-\(UUID().uuidString)")
        return try SQLiteStore(path: directory.appendingPathComponent("hub.db").path)
    }

    /// PostgreSQL when `GATEHOUSE_TEST_POSTGRES_URL` names a server (scripts/test.sh starts one):
    /// each store gets a schema of its own in that database.
    static let postgres: StoreBackend? = postgresURL.map { url in
        StoreBackend(name: "PostgreSQL") { try await newPostgresStore(url) }
    }

    static let postgresURL = ProcessInfo.processInfo.environment["GATEHOUSE_TEST_POSTGRES_URL"]

    /// A new, empty PostgreSQL store in a schema of its own in the database at `url`.
    static func newPostgresStore(_ url: String) async throws -> PostgresStore {
        let schema = "conformance_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return try await PostgresStore.open(try PostgresSettings(url: url + (url.contains("?") ? "&" : "?") + "schema=" + schema))
    }

    static let all: [StoreBackend] = [.sqlite] + (postgres.map { [$0] } ?? [])
}

/// Runs `count` copies of `body` at once and collects their results.
func concurrently<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
    try await withThrowingTaskGroup(of: T.self) { group in
        for index in 0..<count { group.addTask { try await body(index) } }
        return try await group.reduce(into: [T]()) { $0.append($1) }
    }
}

let epoch = Date(timeIntervalSince1970: 1_800_000_000)

func grant(client: String = "c1", subject: String = "usr_1") -> AuthorizationGrant {
    AuthorizationGrant(clientID: client, subject: subject, scopes: ["a", "b"], resource: "https://rs.example/mcp", authTime: epoch)
}
