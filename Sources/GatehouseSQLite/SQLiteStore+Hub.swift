import Foundation
import GRDB
import GatehouseHub

extension SQLiteStore: HubStore {
    public func provisionUser(_ identity: UserIdentity, now: Date) async throws -> HubUser {
        try await write { db in
            let stored = try Row.fetchOne(
                db, sql: "SELECT * FROM users WHERE issuer = ? AND subject = ?", arguments: [identity.issuer, identity.subject])
            guard let stored else {
                try db.execute(
                    sql: """
                        INSERT INTO users (issuer, subject, email, name, oauth_provider, organization_id, created_at, last_seen_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        identity.issuer, identity.subject, identity.email, identity.name, identity.oauthProvider,
                        identity.organizationID, now.utcText, now.utcText,
                    ])
                return HubUser(id: db.lastInsertedRowID, identity: identity, createdAt: Date(utcText: now.utcText), lastSeenAt: Date(utcText: now.utcText))
            }
            let user = Self.user(stored)
            let merged = identity.merging(into: user.identity)
            try db.execute(
                sql: "UPDATE users SET email = ?, name = ?, oauth_provider = ?, organization_id = ?, last_seen_at = ? WHERE id = ?",
                arguments: [merged.email, merged.name, merged.oauthProvider, merged.organizationID, now.utcText, user.id])
            return HubUser(id: user.id, identity: merged, createdAt: user.createdAt, lastSeenAt: Date(utcText: now.utcText))
        }
    }

    public func touchUser(id: Int64, now: Date) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE users SET last_seen_at = ? WHERE id = ?", arguments: [now.utcText, id])
        }
    }

    public func users() async throws -> [HubUser] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM users ORDER BY id").map(Self.user) }
    }

    public func activeTools(userID: Int64) async throws -> [ActiveTool] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM user_tools WHERE user_id = ? ORDER BY id", arguments: [userID]).map { row in
                ActiveTool(
                    name: row["tool_name"], configuration: row["config"], activatedAt: Date(utcText: row["created_at"]),
                    updatedAt: Date(utcText: row["updated_at"]))
            }
        }
    }

    public func activateTool(userID: Int64, name: String, configuration: String, now: Date) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO user_tools (user_id, tool_name, config, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (user_id, tool_name) DO NOTHING
                    """,
                arguments: [userID, name, configuration, now.utcText, now.utcText])
            return db.changesCount == 1
        }
    }

    public func configureTool(userID: Int64, name: String, configuration: String, now: Date) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE user_tools SET config = ?, updated_at = ? WHERE user_id = ? AND tool_name = ?",
                arguments: [configuration, now.utcText, userID, name])
            return db.changesCount == 1
        }
    }

    public func deactivateTool(userID: Int64, name: String, deleting data: Set<ToolData>) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM user_tools WHERE user_id = ? AND tool_name = ?", arguments: [userID, name])
            guard db.changesCount == 1 else { return false }
            for kind in data {
                try db.execute(sql: "DELETE FROM \(Self.table(of: kind)) WHERE user_id = ?", arguments: [userID])
            }
            return true
        }
    }

    /// The table that holds a tool's data.
    private static func table(of data: ToolData) -> String {
        switch data {
        case .notes: "user_notes"
        case .memory: "user_memory"
        }
    }

    public func addNote(userID: Int64, text: String, quota: Quota, now: Date) async throws -> Int64? {
        try await write { db in
            let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM user_notes WHERE user_id = ?", arguments: [userID]) ?? 0
            guard quota.admitsOneMore(having: count) else { return nil }
            try db.execute(
                sql: "INSERT INTO user_notes (user_id, text, created_at) VALUES (?, ?, ?)", arguments: [userID, text, now.utcText])
            return db.lastInsertedRowID
        }
    }

    public func notes(userID: Int64, limit: Int) async throws -> [Note] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM user_notes WHERE user_id = ? ORDER BY id DESC LIMIT ?", arguments: [userID, limit]
            ).map { Note(id: $0["id"], text: $0["text"], createdAt: Date(utcText: $0["created_at"])) }
        }
    }

    public func remember(userID: Int64, key: String, value: String, quota: Quota, now: Date) async throws -> Bool {
        try await write { db in
            let exists = try Bool.fetchOne(
                db, sql: "SELECT 1 FROM user_memory WHERE user_id = ? AND key = ?", arguments: [userID, key]) ?? false
            if !exists {
                let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM user_memory WHERE user_id = ?", arguments: [userID]) ?? 0
                guard quota.admitsOneMore(having: count) else { return false }
            }
            try db.execute(
                sql: """
                    INSERT INTO user_memory (user_id, key, value, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    """,
                arguments: [userID, key, value, now.utcText])
            return true
        }
    }

    public func recall(userID: Int64, key: String) async throws -> String? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT value FROM user_memory WHERE user_id = ? AND key = ?", arguments: [userID, key])
        }
    }

    public func memoryKeys(userID: Int64) async throws -> [String] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT key FROM user_memory WHERE user_id = ? ORDER BY key", arguments: [userID])
        }
    }

    private static func user(_ row: Row) -> HubUser {
        HubUser(
            id: row["id"],
            identity: UserIdentity(
                issuer: row["issuer"], subject: row["subject"], email: row["email"], name: row["name"],
                oauthProvider: row["oauth_provider"], organizationID: row["organization_id"]),
            createdAt: Date(utcText: row["created_at"]), lastSeenAt: Date(utcText: row["last_seen_at"]))
    }
}

extension Date {
    /// `2026-11-23 06:40:12`, UTC: how the hub's tables store times.
    var utcText: String { HubTime.text(self) }

    init(utcText: String) { self = HubTime.date(utcText) }
}
