import GatehouseHub
import Logging
import ServiceLifecycle

/// The store while the server runs: another instance's hub tool changes drop this instance's
/// cached copy at once, and the store's connections close after the server has drained.
struct StoreLifecycle: Service, CustomStringConvertible {
    let stores: Stores
    let hub: Hub?

    var description: String { "StoreLifecycle" }

    func run() async throws {
        if let feed = stores.changeFeed, let hub {
            await cancelWhenGracefulShutdown { await feed.followToolChanges { hub.invalidate(userID: $0) } }
        } else {
            try? await gracefulShutdown()
        }
        await stores.close()
    }
}
