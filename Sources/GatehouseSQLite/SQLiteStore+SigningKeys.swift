import Foundation
import GRDB
import GatehouseOAuth

extension SQLiteStore {
    public func signingKeys() async throws -> [StoredSigningKey] {
        try await read { db in try Self.keys(db) }
    }

    public func rotateSigningKeys(_ rotation: SigningKeyRotation) async throws -> SigningKeyRotation.Plan {
        try await write { db in
            let plan = rotation.plan(try Self.keys(db))
            for keyID in plan.retire {
                try db.execute(
                    sql: "UPDATE oauth_signing_keys SET retired_at = ? WHERE key_id = ?", arguments: [rotation.now.storeValue, keyID])
            }
            if let key = plan.add {
                try db.execute(
                    sql: "INSERT INTO oauth_signing_keys (key_id, private_key, created_at) VALUES (?, ?, ?)",
                    arguments: [key.keyID, key.privateKey, key.createdAt.storeValue])
            }
            for keyID in plan.delete {
                try db.execute(sql: "DELETE FROM oauth_signing_keys WHERE key_id = ?", arguments: [keyID])
            }
            return plan
        }
    }

    public func resealSigningKey(keyID: String, privateKey: Data) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE oauth_signing_keys SET private_key = ? WHERE key_id = ?", arguments: [privateKey, keyID])
        }
    }

    private static func keys(_ db: Database) throws -> [StoredSigningKey] {
        try Row.fetchAll(db, sql: "SELECT * FROM oauth_signing_keys ORDER BY created_at DESC, rowid DESC").map { row in
            StoredSigningKey(
                keyID: row["key_id"], privateKey: row["private_key"], createdAt: Date(storeValue: row["created_at"]),
                retiredAt: (row["retired_at"] as Double?).map(Date.init(storeValue:)))
        }
    }
}
