import Foundation
import GRDB
import GatehouseCore
import GatehouseOAuth

/// The embedded store: one SQLite database in WAL mode with foreign keys on.
///
/// Readers never block the writer (WAL); writes are serialized by SQLite and each store
/// method that must be atomic runs in one `IMMEDIATE` transaction, so two processes on one
/// file cannot interleave inside it. The database, its `-wal` and `-shm` files and backups
/// are readable by the owner only, whatever the mode of their folder.
public final class SQLiteStore: Sendable {
    private let database: DatabasePool
    /// The database file.
    public let path: String

    /// Opens (creating when needed) the database at `path` and applies pending migrations.
    public init(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        // SQLite gives the -wal and -shm files the mode of the database file, so the file is
        // created 0600 before SQLite opens it; files left by older versions are narrowed too.
        try OwnerOnlyFile.create(path)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.journalMode = .wal
        // Another process (a CLI command next to the running hub) may hold the write lock briefly.
        configuration.busyMode = .timeout(5)
        configuration.label = "gatehouse"
        database = try DatabasePool(path: path, configuration: configuration)
        self.path = path
        try StoreMigrations.migrator.migrate(database)
        for companion in [path, path + "-wal", path + "-shm"] { try OwnerOnlyFile.restrict(companion) }
    }

    /// Runs `body` on a pooled reader.
    ///
    /// Every read goes through here. The result is `Sendable`, which makes Swift pick GRDB's
    /// asynchronous `read`. With a non-`Sendable` result (a `Row`) it silently picks the
    /// blocking overload instead, which parks a cooperative thread until a reader is free;
    /// with more concurrent requests than readers plus threads the process froze for good.
    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        try await measured("read") { try await database.read(body) }
    }

    /// Runs `body` in a write transaction (`IMMEDIATE`, so it holds the write lock from its
    /// first statement); see ``read(_:)`` for why the result is `Sendable`.
    ///
    /// Writes take turns, and each may wait up to the busy timeout for another process's lock:
    /// behind a few such waits a write would be answered long after its client gave up. So each
    /// write waits for the lock only what is left of its ``writeDeadline`` (counted from when it
    /// was asked for); one whose turn comes later is not run at all (nothing is committed for a
    /// request that was told it failed). Either way it throws ``SQLiteStoreBusy``.
    func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + Self.writeDeadline
        return try await measured("write") {
            try await database.writeWithoutTransaction { db in
                // Before BEGIN, which is what waits for the lock: the wait may last only what is
                // left of this write's deadline.
                let left = deadline - ContinuousClock.now
                guard left > .milliseconds(1) else { throw SQLiteStoreBusy(path: self.path) }
                try db.execute(sql: "PRAGMA busy_timeout = \(left.inNanoseconds / 1_000_000)")
                var result: T?
                try db.inTransaction {
                    result = try body(db)
                    return .commit
                }
                return result!  // inTransaction ran the closure, or threw
            }
        }
    }

    /// How long a write may wait for its turn: the busy timeout, so one wait for another
    /// process's lock is tolerated, a queue of them is not.
    static let writeDeadline: Duration = .seconds(5)

    /// `operation`, timed in ``GatehouseMetrics/storeOperation(backend:kind:duration:failed:)``.
    /// A lock another process held past the busy timeout becomes ``SQLiteStoreBusy``.
    private func measured<T>(_ kind: String, _ operation: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        do {
            let result = try await operation()
            GatehouseMetrics.storeOperation(backend: "sqlite", kind: kind, duration: started.elapsed, failed: false)
            return result
        } catch let error as DatabaseError where [.SQLITE_BUSY, .SQLITE_LOCKED].contains(error.resultCode) {
            GatehouseMetrics.storeOperation(backend: "sqlite", kind: kind, duration: started.elapsed, failed: true)
            throw SQLiteStoreBusy(path: path)
        } catch {
            GatehouseMetrics.storeOperation(backend: "sqlite", kind: kind, duration: started.elapsed, failed: true)
            throw error
        }
    }

    /// The migrations applied to this database, oldest first.
    public func appliedMigrations() async throws -> [String] {
        try await read { db in try StoreMigrations.migrator.appliedMigrations(db) }
    }

    /// Copies the database to `destination`, which must not exist, while it is in use (SQLite
    /// online backup). The copy is created readable by the owner only.
    public func backup(to destination: String) throws {
        try OwnerOnlyFile.create(destination, exclusive: true)
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

extension SQLiteStore: StoreAdministration {
    public var location: String { path }
}

/// The database stayed locked (by another process, or by the writes queued before this one)
/// past the busy timeout; nothing was written.
public struct SQLiteStoreBusy: StoreUnavailable, CustomStringConvertible {
    public let path: String
    public var description: String { "the database \(path) is busy (locked by another process or a queue of writes); nothing was written" }
}
