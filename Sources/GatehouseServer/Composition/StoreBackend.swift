import GatehouseAuth
import GatehouseCore
import GatehouseHub
import GatehouseMCP
import GatehouseOAuth
import GatehousePostgres
import GatehouseSQLite
import Logging

/// One opened store, as the ports its users take: the authorization server's, the hub's, and
/// the operator's; with what a shared store tells instances about each other's changes.
public struct Stores: Sendable {
    public let authorization: any AuthorizationStore
    public let hub: any HubStore
    /// Hub users' connections to their own remote MCP servers.
    public let connections: any ConnectionStore
    public let administration: any StoreAdministration
    /// Changes made on other instances (PostgreSQL's LISTEN/NOTIFY); `nil` for a store only
    /// this process writes.
    public let changeFeed: (any HubChangeFeed)?
    /// Session-era MCP sessions shared by the instances; `nil` when each keeps its own.
    public let sharedSessions: (any SharedSessions)?
    /// Where rate limits count: the shared store's, or this process's memory.
    public let rateCounter: any RateCounter
    /// Where failed sign-ins count: the shared store's; `nil` for this process's memory.
    public let signInFailures: (any SignInFailureRecords)?
    /// Ends the store's connections (a no-op for SQLite).
    public let close: @Sendable () async -> Void
}

/// The one place that opens the store a configuration names: PostgreSQL when `HUB_DATABASE_URL`
/// is set, else SQLite at `GATEHOUSE_DATABASE_PATH`; for the servers and the store commands alike.
public enum StoreBackend {
    /// Opens (creating and migrating when needed) the configured store.
    public static func open(_ configuration: GatehouseConfiguration, logger: Logger = Logger(label: "gatehouse.store")) async throws(StartupProblem) -> Stores {
        if let postgres = configuration.postgres {
            do {
                let store = try await PostgresStore.open(postgres, logger: logger)
                return Stores(
                    authorization: store, hub: store, connections: store, administration: store, changeFeed: store, sharedSessions: store,
                    rateCounter: store, signInFailures: store, close: { await store.close() })
            } catch {
                throw StartupProblem(
                    "cannot open the PostgreSQL store \(postgres.redactedURL): \(String(reflecting: error)); check HUB_DATABASE_URL and that the server accepts connections")
            }
        }
        do {
            let store = try SQLiteStore(path: configuration.databasePath)
            return Stores(
                authorization: store, hub: store, connections: store, administration: store, changeFeed: nil, sharedSessions: nil,
                rateCounter: LocalRateCounter(), signInFailures: nil, close: {})
        } catch {
            throw StartupProblem(
                "cannot open the database \(configuration.databasePath): \(error); set GATEHOUSE_DATABASE_PATH to a writable file")
        }
    }
}

extension StoreBackend {
    /// `gatehouse db copy`: every table of the SQLite store at `path` into the empty PostgreSQL
    /// store `target`, in one transaction; returns the rows copied per table. Sealed values
    /// (signing keys, upstream tokens, tools' secrets) move as they are: the instances that use
    /// the copy need the key they were sealed with (``SecretBox`` opens with it and seals again).
    public static func copy(
        fromSQLite path: String, to target: PostgresSettings, logger: Logger = Logger(label: "gatehouse.store")
    ) async throws -> [(String, Int)] {
        let source = try SQLiteStore(path: path)
        let tables = try await source.exportTables()
        let destination = try await PostgresStore.open(target, logger: logger)
        do {
            let copied = try await destination.importTables(tables)
            await destination.close()
            return copied
        } catch {
            await destination.close()
            throw error
        }
    }
}
