import Foundation
import GatehouseHub
import PostgresNIO

extension PostgresStore: HubStore {
    public func provisionUser(_ identity: UserIdentity, now: Date) async throws -> HubUser {
        try await transaction { connection in
            let stamp = now.hubText
            _ = try await self.rows(
                """
                INSERT INTO users (issuer, subject, email, name, oauth_provider, organization_id, created_at, last_seen_at)
                VALUES (\(identity.issuer), \(identity.subject), \(identity.email), \(identity.name), \(identity.oauthProvider),
                        \(identity.organizationID), \(stamp), \(stamp))
                ON CONFLICT (issuer, subject) DO NOTHING RETURNING id
                """, on: connection)
            // Created now or by another request: either way, the row is locked and merged here.
            guard
                let row = try await self.rows(
                    "SELECT * FROM users WHERE issuer = \(identity.issuer) AND subject = \(identity.subject) FOR UPDATE", on: connection
                ).first
            else { throw PostgresStoreError("a provisioned user vanished") }
            let stored = try Self.hubUser(row)
            let merged = identity.merging(into: stored.identity)
            try await self.execute(
                """
                UPDATE users SET email = \(merged.email), name = \(merged.name), oauth_provider = \(merged.oauthProvider),
                    organization_id = \(merged.organizationID), last_seen_at = \(stamp) WHERE id = \(stored.id)
                """, on: connection)
            return HubUser(id: stored.id, identity: merged, createdAt: stored.createdAt, lastSeenAt: Date(hubText: stamp))
        }
    }

    public func touchUser(id: Int64, now: Date) async throws {
        try await execute("UPDATE users SET last_seen_at = \(now.hubText) WHERE id = \(id)")
    }

    public func users() async throws -> [HubUser] {
        try await rows("SELECT * FROM users ORDER BY id").map(Self.hubUser)
    }

    public func activeTools(userID: Int64) async throws -> [ActiveTool] {
        try await rows("SELECT * FROM user_tools WHERE user_id = \(userID) ORDER BY id").map { row in
            ActiveTool(
                name: try row.value("tool_name"), configuration: try row.value("config"),
                activatedAt: Date(hubText: try row.value("created_at")), updatedAt: Date(hubText: try row.value("updated_at")))
        }
    }

    public func activateTool(userID: Int64, name: String, configuration: String, now: Date) async throws -> Bool {
        let changed = try await changed(
            """
            INSERT INTO user_tools (user_id, tool_name, config, created_at, updated_at)
            VALUES (\(userID), \(name), \(configuration), \(now.hubText), \(now.hubText))
            ON CONFLICT (user_id, tool_name) DO NOTHING RETURNING 1
            """)
        if changed { try await notifyToolsChanged(userID: userID) }
        return changed
    }

    public func configureTool(userID: Int64, name: String, configuration: String, now: Date) async throws -> Bool {
        let changed = try await changed(
            """
            UPDATE user_tools SET config = \(configuration), updated_at = \(now.hubText)
            WHERE user_id = \(userID) AND tool_name = \(name) RETURNING 1
            """)
        if changed { try await notifyToolsChanged(userID: userID) }
        return changed
    }

    public func deactivateTool(userID: Int64, name: String, deleting data: Set<ToolData>) async throws -> Bool {
        let removed = try await transaction { connection in
            guard
                try await self.changed(
                    "DELETE FROM user_tools WHERE user_id = \(userID) AND tool_name = \(name) RETURNING 1", on: connection)
            else { return false }
            if data.contains(.notes) { try await self.execute("DELETE FROM user_notes WHERE user_id = \(userID)", on: connection) }
            if data.contains(.memory) { try await self.execute("DELETE FROM user_memory WHERE user_id = \(userID)", on: connection) }
            return true
        }
        if removed { try await notifyToolsChanged(userID: userID) }
        return removed
    }

    public func addNote(userID: Int64, text: String, quota: Quota, now: Date) async throws -> Int64? {
        try await transaction { connection in
            // The user's row is the lock: concurrent additions on any instance count one after another.
            _ = try await self.rows("SELECT 1 FROM users WHERE id = \(userID) FOR UPDATE", on: connection)
            let count = try await self.rows("SELECT count(*) AS n FROM user_notes WHERE user_id = \(userID)", on: connection)
                .first?.value("n", as: Int.self) ?? 0
            guard quota.admitsOneMore(having: count) else { return nil }
            return try await self.rows(
                "INSERT INTO user_notes (user_id, text, created_at) VALUES (\(userID), \(text), \(now.hubText)) RETURNING id", on: connection
            ).first?.value("id", as: Int64.self)
        }
    }

    public func notes(userID: Int64, limit: Int) async throws -> [Note] {
        try await rows("SELECT * FROM user_notes WHERE user_id = \(userID) ORDER BY id DESC LIMIT \(limit)").map { row in
            Note(id: try row.value("id"), text: try row.value("text"), createdAt: Date(hubText: try row.value("created_at")))
        }
    }

    public func remember(userID: Int64, key: String, value: String, quota: Quota, now: Date) async throws -> Bool {
        try await transaction { connection in
            _ = try await self.rows("SELECT 1 FROM users WHERE id = \(userID) FOR UPDATE", on: connection)
            let exists = !(try await self.rows("SELECT 1 FROM user_memory WHERE user_id = \(userID) AND key = \(key)", on: connection)).isEmpty
            if !exists {
                let count = try await self.rows("SELECT count(*) AS n FROM user_memory WHERE user_id = \(userID)", on: connection)
                    .first?.value("n", as: Int.self) ?? 0
                guard quota.admitsOneMore(having: count) else { return false }
            }
            try await self.execute(
                """
                INSERT INTO user_memory (user_id, key, value, updated_at) VALUES (\(userID), \(key), \(value), \(now.hubText))
                ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """, on: connection)
            return true
        }
    }

    public func recall(userID: Int64, key: String) async throws -> String? {
        try await rows("SELECT value FROM user_memory WHERE user_id = \(userID) AND key = \(key)").first?.value("value")
    }

    public func memoryKeys(userID: Int64) async throws -> [String] {
        try await rows("SELECT key FROM user_memory WHERE user_id = \(userID) ORDER BY key").map { try $0.value("key") }
    }

    static func hubUser(_ row: PostgresRandomAccessRow) throws -> HubUser {
        HubUser(
            id: try row.value("id"),
            identity: UserIdentity(
                issuer: try row.value("issuer"), subject: try row.value("subject"), email: try row.value("email"),
                name: try row.value("name"), oauthProvider: try row.value("oauth_provider"), organizationID: try row.value("organization_id")),
            createdAt: Date(hubText: try row.value("created_at")), lastSeenAt: Date(hubText: try row.value("last_seen_at")))
    }
}

extension Date {
    /// `2026-11-23 06:40:12`, UTC: how the hub's tables store times (as in the SQLite store).
    var hubText: String { HubTime.text(self) }

    init(hubText: String) { self = HubTime.date(hubText) }
}
