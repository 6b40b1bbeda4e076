import Foundation
import GRDB

@testable import GatehouseSQLite

/// What the tests read of the store beyond its protocol, to check what is kept at rest.
extension SQLiteStore {
    func refreshTokenCount() async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM oauth_refresh_tokens") ?? 0 }
    }

    func sealedSuccessor(of hash: String) async throws -> Data? {
        try await read { db in try Data.fetchOne(db, sql: "SELECT successor_sealed FROM oauth_refresh_tokens WHERE hash = ?", arguments: [hash]) }
    }

    func clientIDs() async throws -> [String] {
        try await read { db in try String.fetchAll(db, sql: "SELECT id FROM oauth_clients ORDER BY registered_at") }
    }
}
