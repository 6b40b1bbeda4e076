import Foundation
import GRDB
import GatehouseOAuth

extension SQLiteStore {
    public func insertLocalUser(_ user: LocalUser) async throws -> LocalUser? {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO idp_users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(email) DO NOTHING
                    """,
                arguments: [user.id, user.email, user.name, user.passwordHash, user.createdAt.storeValue])
            return db.changesCount == 1 ? try Self.fetchUser(db, "id = ?", user.id) : nil
        }
    }

    public func updateLocalUser(email: String, name: String?, passwordHash: String) async throws -> LocalUser? {
        try await write { db in
            try db.execute(
                sql: "UPDATE idp_users SET name = coalesce(?, name), password_hash = ? WHERE email = ?",
                arguments: [name, passwordHash, email])
            return db.changesCount == 1 ? try Self.fetchUser(db, "email = ?", email) : nil
        }
    }

    public func localUser(email: String) async throws -> LocalUser? {
        try await read { db in try Self.fetchUser(db, "email = ?", email) }
    }

    public func localUser(id: String) async throws -> LocalUser? {
        try await read { db in try Self.fetchUser(db, "id = ?", id) }
    }

    public func localUserCount() async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM idp_users") ?? 0 }
    }

    static func fetchUser(_ db: Database, _ condition: String, _ value: String) throws -> LocalUser? {
        try Row.fetchOne(db, sql: "SELECT * FROM idp_users WHERE \(condition)", arguments: [value]).map { row in
            LocalUser(
                id: row["id"], email: row["email"], name: row["name"], passwordHash: row["password_hash"],
                createdAt: Date(storeValue: row["created_at"]))
        }
    }
}
