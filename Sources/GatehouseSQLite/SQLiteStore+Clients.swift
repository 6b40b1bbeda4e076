import Foundation
import GRDB
import GatehouseCore
import GatehouseOAuth

extension SQLiteStore {
    public func insertClient(_ client: RegisteredClient) async throws {
        var writer = JSONWriter()
        writer.value(client.metadata.document)
        let metadata = String(decoding: writer.bytes, as: UTF8.self)
        try await write { db in
            try db.execute(
                sql: "INSERT INTO oauth_clients (id, secret_hash, metadata, registered_at) VALUES (?, ?, ?, ?)",
                arguments: [client.id, client.secretHash, metadata, client.registeredAt.storeValue])
        }
    }

    public func client(id: String) async throws -> RegisteredClient? {
        try await read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM oauth_clients WHERE id = ?", arguments: [id]) else { return nil }
            let document = try JSONValue.parse(Array((row["metadata"] as String).utf8))
            return RegisteredClient(
                id: row["id"], secretHash: row["secret_hash"], metadata: try ClientMetadata(registration: document),
                registeredAt: Date(storeValue: row["registered_at"]))
        }
    }

    public func recordClientUse(id: String, now: Date) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE oauth_clients SET last_used_at = ? WHERE id = ?", arguments: [now.storeValue, id])
        }
    }
}
