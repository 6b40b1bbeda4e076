import Foundation
import GRDB
import GatehouseOAuth

extension SQLiteStore {
    public func signingKeys() async throws -> [StoredSigningKey] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM oauth_signing_keys ORDER BY created_at DESC, rowid DESC").map { row in
                StoredSigningKey(
                    keyID: row["key_id"], privateKey: row["private_key"], createdAt: Date(storeValue: row["created_at"]),
                    retiredAt: (row["retired_at"] as Double?).map(Date.init(storeValue:)))
            }
        }
    }

    public func addSigningKey(_ key: StoredSigningKey) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE oauth_signing_keys SET retired_at = ? WHERE retired_at IS NULL",
                arguments: [key.createdAt.storeValue])
            try db.execute(
                sql: "INSERT INTO oauth_signing_keys (key_id, private_key, created_at) VALUES (?, ?, ?)",
                arguments: [key.keyID, key.privateKey, key.createdAt.storeValue])
        }
    }

    public func deleteSigningKeys(retiredBefore date: Date) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM oauth_signing_keys WHERE retired_at < ?", arguments: [date.storeValue])
        }
    }

    public func resealSigningKey(keyID: String, privateKey: Data) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE oauth_signing_keys SET private_key = ? WHERE key_id = ?", arguments: [privateKey, keyID])
        }
    }
}
