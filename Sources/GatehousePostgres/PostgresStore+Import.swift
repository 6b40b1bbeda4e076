import Foundation
import GatehouseCore
import PostgresNIO

extension PostgresStore {
    /// Inserts `tables` (``StoreTable/copiedInOrder``) in one transaction into this store, which
    /// must be empty; identity counters continue after the copied ids. Returns rows per table.
    public func importTables(_ tables: [StoreTable]) async throws -> [(String, Int)] {
        try await transaction { connection in
            for table in ["oauth_clients", "idp_users", "users"] {
                let count = try await self.rows("SELECT count(*) AS n FROM \(unescaped: table)", on: connection).first?.value("n", as: Int.self)
                guard count == 0 else {
                    throw PostgresStoreError("the PostgreSQL store already holds \(table); copy into an empty database")
                }
            }
            var copied: [(String, Int)] = []
            for table in tables {
                let columns = table.columns.map { "\"\($0)\"" }.joined(separator: ", ")
                for row in table.rows {
                    var bindings = PostgresBindings(capacity: row.count)
                    for value in row {
                        switch value {
                        case .null: bindings.appendNull()
                        case .integer(let integer): bindings.append(integer)
                        case .real(let real): bindings.append(real)
                        case .text(let text): bindings.append(text)
                        case .blob(let data): try bindings.append(data)
                        }
                    }
                    let placeholders = (1...max(row.count, 1)).map { "$\($0)" }.joined(separator: ", ")
                    try await self.execute(
                        PostgresQuery(unsafeSQL: "INSERT INTO \(table.name) (\(columns)) VALUES (\(placeholders))", binds: bindings),
                        on: connection)
                }
                copied.append((table.name, table.rows.count))
            }
            for table in ["users", "user_tools", "user_notes"] {
                try await self.execute(
                    "SELECT setval(pg_get_serial_sequence(\(table), 'id'), coalesce((SELECT max(id) FROM \(unescaped: table)), 0) + 1, false)",
                    on: connection)
            }
            return copied
        }
    }
}
