import GatehouseCore
import Hummingbird

/// The hub's page for signed-in users (`/hub`) and its administrator view (`/hub/admin`); it needs
/// the embedded authorization server, whose sign-in tells it who is in the browser.
public struct HubPageMount: Sendable {
    let routes: HubPageRoutes

    public init(
        configuration: GatehouseConfiguration, hub: HubMount, connections: ConnectionsMount?, authorizationServer: AuthorizationServerMount
    ) {
        routes = HubPageRoutes(
            hub: hub.hub, connections: connections, account: authorizationServer.browserAccount(users: hub.hub.users),
            pageURL: configuration.baseURL().url(for: HubPageRoutes.path), mcpURL: configuration.resourceURL,
            administrators: configuration.hub.administrators)
    }

    /// Mounts `/hub` and its forms, and `/hub/admin`.
    public func register<Context: GatehouseContext>(on router: Router<Context>) {
        routes.register(on: router)
    }
}
