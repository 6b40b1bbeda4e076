import GatehouseAuth
import GatehouseCore
import GatehouseHub
import GatehouseOAuth
import GatehouseSQLite

/// One opened store, as the ports its users take: the authorization server's, the hub's, and
/// the operator's.
public struct Stores: Sendable {
    public let authorization: any AuthorizationStore
    public let hub: any HubStore
    public let administration: any StoreAdministration
}

/// The one place that opens the store a configuration names (today SQLite at
/// `GATEHOUSE_DATABASE_PATH`), for the servers and the store commands alike.
public enum StoreBackend {
    /// Opens (creating and migrating when needed) the configured store.
    public static func open(_ configuration: GatehouseConfiguration) throws(StartupProblem) -> Stores {
        do {
            let store = try SQLiteStore(path: configuration.databasePath)
            return Stores(authorization: store, hub: store, administration: store)
        } catch {
            throw StartupProblem(
                "cannot open the database \(configuration.databasePath): \(error); set GATEHOUSE_DATABASE_PATH to a writable file")
        }
    }
}
