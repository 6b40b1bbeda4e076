import Foundation
import GatehouseHub
import PostgresNIO

extension PostgresStore: ConnectionStore {
    public func addConnection(_ connection: UserConnection, limit: Int) async throws -> Bool {
        try await transaction { connectionToDatabase in
            // The user's row, locked: concurrent additions for one user count one after another.
            _ = try await self.rows("SELECT id FROM users WHERE id = \(connection.userID) FOR UPDATE", on: connectionToDatabase)
            let count =
                try await self.rows(
                    "SELECT count(*) AS n FROM user_connections WHERE user_id = \(connection.userID) AND kind = \(connection.kind.rawValue)",
                    on: connectionToDatabase
                ).first?.value("n", as: Int.self) ?? 0
            guard count < limit else { return false }
            return try await self.changed(
                """
                INSERT INTO user_connections (user_id, name, kind, server_url, status, sealed_login, created_at, updated_at)
                VALUES (\(connection.userID), \(connection.name), \(connection.kind.rawValue), \(connection.serverURL), \(connection.status.rawValue),
                        \(connection.sealedLogin), \(connection.createdAt.hubText), \(connection.updatedAt.hubText))
                ON CONFLICT (user_id, name) DO NOTHING RETURNING 1
                """, on: connectionToDatabase)
        }
    }

    public func connections(userID: Int64) async throws -> [UserConnection] {
        try await rows("SELECT * FROM user_connections WHERE user_id = \(userID) ORDER BY name").map(Self.userConnection)
    }

    public func connection(userID: Int64, name: String) async throws -> UserConnection? {
        try await rows("SELECT * FROM user_connections WHERE user_id = \(userID) AND name = \(name)").first.map(Self.userConnection)
    }

    public func saveLogin(
        userID: Int64, name: String, sealedLogin: String?, status: UserConnection.Status, claim: String?, now: Date
    ) async throws -> Bool {
        try await changed(
            """
            UPDATE user_connections SET sealed_login = \(sealedLogin), status = \(status.rawValue), updated_at = \(now.hubText),
                refresh_claim = NULL, refresh_claim_until = NULL
            WHERE user_id = \(userID) AND name = \(name)
                AND (\(claim)::text IS NULL OR (refresh_claim = \(claim) AND refresh_claim_until > \(now.storeValue)))
            RETURNING 1
            """)
    }

    public func claimRefresh(userID: Int64, name: String, claim: String, now: Date, until: Date) async throws -> UserConnection? {
        // One statement: of instances claiming at once, the row lock lets one through.
        try await rows(
            """
            UPDATE user_connections SET refresh_claim = \(claim), refresh_claim_until = \(until.storeValue)
            WHERE user_id = \(userID) AND name = \(name) AND (refresh_claim_until IS NULL OR refresh_claim_until <= \(now.storeValue))
            RETURNING *
            """
        ).first.map(Self.userConnection)
    }

    public func removeConnection(userID: Int64, name: String) async throws -> Bool {
        try await changed("DELETE FROM user_connections WHERE user_id = \(userID) AND name = \(name) RETURNING 1")
    }

    public func insertPendingConnect(_ pending: PendingConnect) async throws {
        try await execute(
            """
            INSERT INTO user_pending_connects (state_hash, user_id, name, sealed_authorization, expires_at)
            VALUES (\(pending.stateHash), \(pending.userID), \(pending.name), \(pending.sealedAuthorization), \(pending.expiresAt.storeValue))
            """)
    }

    public func takePendingConnect(stateHash: String, now: Date) async throws -> PendingConnect? {
        // DELETE … RETURNING: of two callbacks with one state, on any instances, one gets the row.
        let taken = try await rows("DELETE FROM user_pending_connects WHERE state_hash = \(stateHash) RETURNING *").first.map { row in
            PendingConnect(
                stateHash: try row.value("state_hash"), userID: try row.value("user_id"), name: try row.value("name"),
                sealedAuthorization: try row.value("sealed_authorization"), expiresAt: try row.date("expires_at"))
        }
        try await execute("DELETE FROM user_pending_connects WHERE expires_at <= \(now.storeValue)")
        guard let taken, taken.expiresAt > now else { return nil }
        return taken
    }

    private static func userConnection(_ row: PostgresRandomAccessRow) throws -> UserConnection {
        UserConnection(
            userID: try row.value("user_id"), name: try row.value("name"),
            kind: UserConnection.Kind(rawValue: try row.value("kind")) ?? .mcpServer, serverURL: try row.value("server_url"),
            status: UserConnection.Status(rawValue: try row.value("status")) ?? .reconnectNeeded,
            sealedLogin: try row.value("sealed_login"), createdAt: Date(hubText: try row.value("created_at")),
            updatedAt: Date(hubText: try row.value("updated_at")))
    }
}
