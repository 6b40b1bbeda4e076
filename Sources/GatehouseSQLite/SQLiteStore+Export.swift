import Foundation
import GRDB
import GatehouseCore

extension SQLiteStore {
    /// Every table `gatehouse db copy` moves, read in one transaction (a consistent snapshot
    /// while the hub keeps running), signing keys in the order they were added.
    public func exportTables() async throws -> [StoreTable] {
        try await read { db in
            try StoreTable.copiedInOrder.map { name in
                let order = name == "oauth_signing_keys" ? " ORDER BY rowid" : ""
                let rows = try Row.fetchAll(db, sql: "SELECT * FROM \(name)\(order)")
                let columns = try db.columns(in: name).map(\.name)
                return StoreTable(
                    name: name, columns: columns,
                    rows: rows.map { row in columns.map { Self.value(row[$0] as DatabaseValue) } })
            }
        }
    }

    private static func value(_ value: DatabaseValue) -> StoreTable.Value {
        switch value.storage {
        case .null: .null
        case .int64(let integer): .integer(integer)
        case .double(let real): .real(real)
        case .string(let text): .text(text)
        case .blob(let data): .blob(data)
        }
    }
}
