import Foundation
import GRDB
import GatehouseOAuth

/// The embedded store: one SQLite database in WAL mode with foreign keys on.
///
/// Readers never block the writer (WAL); writes are serialized by SQLite and each store
/// method that must be atomic runs in one transaction. The database file and its directory
/// are created readable by the owner only.
public final class SQLiteStore: Sendable {
    let database: DatabasePool
    /// The database file.
    public let path: String

    /// Opens (creating when needed) the database at `path` and applies pending migrations.
    public init(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.journalMode = .wal
        // Another process (a CLI command next to the running hub) may hold the write lock briefly.
        configuration.busyMode = .timeout(5)
        configuration.label = "gatehouse"
        let existed = FileManager.default.fileExists(atPath: path)
        database = try DatabasePool(path: path, configuration: configuration)
        if !existed { try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path) }
        self.path = path
        try StoreMigrations.migrator.migrate(database)
    }

    /// The migrations applied to this database, oldest first.
    public func appliedMigrations() throws -> [String] {
        try database.read { db in try StoreMigrations.migrator.appliedMigrations(db) }
    }

    /// Copies the database to `destination` while it is in use (SQLite online backup).
    public func backup(to destination: String) throws {
        let target = try DatabaseQueue(path: destination)
        try database.backup(to: target)
    }
}

extension Date {
    /// Seconds since 1970, as the store keeps instants.
    var storeValue: Double { timeIntervalSince1970 }

    init(storeValue: Double) { self.init(timeIntervalSince1970: storeValue) }
}

extension SQLiteStore: AuthorizationStore {}
