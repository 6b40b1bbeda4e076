import GatehouseHub
import GatehouseMCP
import Logging
import ServiceLifecycle

/// The store while the server runs: another instance's hub tool changes drop this instance's
/// cached copy at once, so does a session another instance ended, and the store's connections
/// close after the server has drained.
struct StoreLifecycle: Service, CustomStringConvertible {
    let stores: Stores
    let hub: Hub?
    let sessions: SessionStore?

    var description: String { "StoreLifecycle" }

    func run() async throws {
        let stores = self.stores
        let hub = self.hub
        let sessions = self.sessions
        await withTaskGroup(of: Void.self) { group in
            if let feed = stores.changeFeed, let hub {
                group.addTask { await feed.followToolChanges { hub.apply($0) } }
            }
            if let shared = stores.sharedSessions, let sessions {
                group.addTask { await shared.followEndedSessions { sessions.apply($0) } }
            }
            // The feeds run until cancelled: the first task to end is this one, at shutdown.
            group.addTask { try? await gracefulShutdown() }
            await group.next()
            group.cancelAll()
        }
        await stores.close()
    }
}
