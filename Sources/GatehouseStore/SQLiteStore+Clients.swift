import Foundation
import GRDB
import GatehouseCore
import GatehouseOAuth

extension SQLiteStore {
    public func insertClient(_ client: RegisteredClient) async throws {
        var writer = JSONWriter()
        writer.value(client.metadata.document)
        let metadata = String(decoding: writer.bytes, as: UTF8.self)
        try await database.write { db in
            try db.execute(
                sql: "INSERT INTO oauth_clients (id, secret_hash, metadata, registered_at) VALUES (?, ?, ?, ?)",
                arguments: [client.id, client.secretHash, metadata, client.registeredAt.storeValue])
        }
    }

    public func client(id: String) async throws -> RegisteredClient? {
        let row = try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM oauth_clients WHERE id = ?", arguments: [id])
        }
        guard let row else { return nil }
        let document = try JSONValue.parse(Array((row["metadata"] as String).utf8))
        return RegisteredClient(
            id: row["id"], secretHash: row["secret_hash"], metadata: try ClientMetadata(registration: document),
            registeredAt: Date(storeValue: row["registered_at"]))
    }
}
