import GatehouseAuth
import GatehouseCore
import GatehouseHub
import GatehouseMCP
import Hummingbird

/// The multi-tenant tools hub, mounted on an MCP endpoint: a middleware that provisions each
/// authenticated caller as a hub user (and carries the user in the context), the management
/// tools every caller has, and the ``Hub`` as the endpoint's source of per-user tools.
public struct HubMount: Sendable {
    public let hub: Hub

    public init(hub: Hub) {
        self.hub = hub
    }

    /// A hub on `store` with the standard catalog; tool secrets are sealed with
    /// `GATEHOUSE_SECRET_KEY` (without one, secrets in configurations are refused). With
    /// AuthKit, whose tokens carry no email, a new user's email and name come from AuthKit's
    /// userinfo, once. With `accounts`, `http_fetch` can send a user's token for one.
    public init(configuration: GatehouseConfiguration, store: any HubStore, accounts: AccountAccess? = nil) {
        var profiles: ProfileLookup?
        if case .authKit(let domain) = configuration.auth.provider {
            profiles = UserInfoProfiles(url: domain + "/oauth2/userinfo").lookup
        }
        self.init(
            hub: Hub(
                store: store, catalog: .standard(allowPrivateFetches: configuration.hub.allowPrivateFetches, accounts: accounts),
                secrets: SecretBox(keyBytes: configuration.hub.secretKey), oauthProvider: configuration.auth.providerKind,
                profiles: profiles))
    }

    /// Provisions the caller; put it on the MCP endpoint after authentication.
    public func middleware<Context: GatehouseContext>() -> any MiddlewareProtocol<Request, Response, Context> {
        UserProvisioningMiddleware(users: hub.users)
    }

    /// The tools every caller has: list, add, remove and configure their own tools.
    public var managementTools: [MCPTool] { hub.managementTools }
}
