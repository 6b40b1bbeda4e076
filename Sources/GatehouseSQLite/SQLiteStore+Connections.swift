import Foundation
import GRDB
import GatehouseHub

extension SQLiteStore: ConnectionStore {
    public func addConnection(_ connection: UserConnection, limit: Int) async throws -> Bool {
        try await write { db in
            let count = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM user_connections WHERE user_id = ? AND kind = ?",
                arguments: [connection.userID, connection.kind.rawValue]) ?? 0
            guard count < limit else { return false }
            try db.execute(
                sql: """
                    INSERT INTO user_connections (user_id, name, kind, server_url, status, sealed_login, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, name) DO NOTHING
                    """,
                arguments: [
                    connection.userID, connection.name, connection.kind.rawValue, connection.serverURL, connection.status.rawValue, connection.sealedLogin,
                    connection.createdAt.utcText, connection.updatedAt.utcText,
                ])
            return db.changesCount == 1
        }
    }

    public func connections(userID: Int64) async throws -> [UserConnection] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM user_connections WHERE user_id = ? ORDER BY name", arguments: [userID])
                .map(Self.userConnection)
        }
    }

    public func connection(userID: Int64, name: String) async throws -> UserConnection? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM user_connections WHERE user_id = ? AND name = ?", arguments: [userID, name])
                .map(Self.userConnection)
        }
    }

    public func saveLogin(
        userID: Int64, name: String, sealedLogin: String?, status: UserConnection.Status, claim: String?, now: Date
    ) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE user_connections SET sealed_login = ?, status = ?, updated_at = ?, refresh_claim = NULL,
                        refresh_claim_until = NULL
                    WHERE user_id = ? AND name = ? AND (? IS NULL OR (refresh_claim = ? AND refresh_claim_until > ?))
                    """,
                arguments: [sealedLogin, status.rawValue, now.utcText, userID, name, claim, claim, now.storeValue])
            return db.changesCount == 1
        }
    }

    public func claimRefresh(userID: Int64, name: String, claim: String, now: Date, until: Date) async throws -> UserConnection? {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE user_connections SET refresh_claim = ?, refresh_claim_until = ?
                    WHERE user_id = ? AND name = ? AND (refresh_claim_until IS NULL OR refresh_claim_until <= ?)
                    """,
                arguments: [claim, until.storeValue, userID, name, now.storeValue])
            guard db.changesCount == 1 else { return nil }
            return try Row.fetchOne(db, sql: "SELECT * FROM user_connections WHERE user_id = ? AND name = ?", arguments: [userID, name])
                .map(Self.userConnection)
        }
    }

    public func removeConnection(userID: Int64, name: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM user_connections WHERE user_id = ? AND name = ?", arguments: [userID, name])
            return db.changesCount == 1
        }
    }

    public func insertPendingConnect(_ pending: PendingConnect) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO user_pending_connects (state_hash, user_id, name, sealed_authorization, expires_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [pending.stateHash, pending.userID, pending.name, pending.sealedAuthorization, pending.expiresAt.storeValue])
        }
    }

    public func takePendingConnect(stateHash: String, now: Date) async throws -> PendingConnect? {
        try await write { db in
            let pending = try Row.fetchOne(db, sql: "SELECT * FROM user_pending_connects WHERE state_hash = ?", arguments: [stateHash])
                .map { row in
                    PendingConnect(
                        stateHash: row["state_hash"], userID: row["user_id"], name: row["name"],
                        sealedAuthorization: row["sealed_authorization"], expiresAt: Date(storeValue: row["expires_at"]))
                }
            try db.execute(
                sql: "DELETE FROM user_pending_connects WHERE state_hash = ? OR expires_at <= ?", arguments: [stateHash, now.storeValue])
            guard let pending, pending.expiresAt > now else { return nil }
            return pending
        }
    }

    private static func userConnection(_ row: Row) -> UserConnection {
        UserConnection(
            userID: row["user_id"], name: row["name"], kind: UserConnection.Kind(rawValue: row["kind"]) ?? .mcpServer,
            serverURL: row["server_url"],
            status: UserConnection.Status(rawValue: row["status"]) ?? .reconnectNeeded, sealedLogin: row["sealed_login"],
            createdAt: Date(utcText: row["created_at"]), updatedAt: Date(utcText: row["updated_at"]))
    }
}
