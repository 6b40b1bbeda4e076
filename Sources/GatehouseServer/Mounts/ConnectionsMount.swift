import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress
import GatehouseHub
import GatehouseMCP
import Hummingbird
import Logging

/// What hub users' connections need before the hub is built: their own remote MCP servers
/// (`GATEHOUSE_CONNECTIONS=true`) and their accounts at the operator's OAuth providers
/// (`GATEHOUSE_ACCOUNTS`), whose tokens the hub's tools use (``accounts``).
public struct ConnectionServices: Sendable {
    let store: any ConnectionStore
    let links: ConnectLinks
    let signIn: ConnectionSignIn
    let tokens: ConnectionTokens
    let http: EgressClient
    /// Whether users may connect MCP servers.
    let offersServers: Bool
    let allowPrivateServers: Bool
    /// The hub's Client ID Metadata Document, when it uses one.
    let clientMetadata: [UInt8]?
    /// The accounts users may connect, for their tools; `nil` without providers.
    public let accounts: AccountAccess?

    /// `nil` when the configuration offers neither servers nor accounts.
    public init?(configuration: GatehouseConfiguration, store: any ConnectionStore) throws(StartupProblem) {
        let hub = configuration.hub
        guard hub.connections || !hub.accounts.isEmpty else { return nil }
        guard let key = hub.secretKey else {
            throw StartupProblem("GATEHOUSE_CONNECTIONS and GATEHOUSE_ACCOUNTS need GATEHOUSE_SECRET_KEY, which seals users' tokens")
        }
        let secrets = SecretBox(keyBytes: key)
        let base = configuration.baseURL()
        // Users name their servers, and the servers name further URLs: https to public addresses
        // only, unless private servers are allowed (tests, intranets). Account providers are the
        // operator's choice and reached as configured.
        let http = EgressClient(timeout: .seconds(30), maxBytes: 4 * 1024 * 1024, policy: hub.allowPrivateConnections ? .anyHTTP : .publicHTTPS)
        let providers = hub.accounts.isEmpty ? nil : AccountProviders(hub.accounts)
        let links = ConnectLinks(secrets: secrets, pageURL: base.url(for: ConnectRoutes.path))
        let callbackURL = base.url(for: ConnectRoutes.callbackPath)
        // Client ID Metadata Documents (CIMD §3): a client id is an https URL; http only where
        // private servers are allowed (tests, intranets), since no public server accepts one.
        let documentURL = base.url(for: ConnectRoutes.clientMetadataPath)
        let usesDocument = hub.connections && (base.scheme == "https" || hub.allowPrivateConnections)
        let tokens = ConnectionTokens(store: store, secrets: secrets, http: http, accounts: providers)
        self.store = store
        self.links = links
        self.tokens = tokens
        self.http = http
        self.signIn = ConnectionSignIn(
            store: store, secrets: secrets, settings: .init(callbackURL: callbackURL, clientMetadataURL: usesDocument ? documentURL : nil),
            http: http, accounts: providers)
        self.offersServers = hub.connections
        self.allowPrivateServers = hub.allowPrivateConnections
        self.clientMetadata = usesDocument ? Self.clientMetadata(documentURL: documentURL, callbackURL: callbackURL, base: base) : nil
        self.accounts = providers.map { AccountAccess(providers: $0, store: store, secrets: secrets, tokens: tokens, links: links) }
    }

    /// The hub's Client ID Metadata Document: a public web client that signs in with PKCE.
    static func clientMetadata(documentURL: String, callbackURL: String, base: PublicBaseURL) -> [UInt8] {
        var writer = JSONWriter()
        writer.value([
            "client_id": .string(documentURL), "client_name": .string("Gatehouse hub at \(base.description)"),
            "client_uri": .string(base.description), "redirect_uris": [.string(callbackURL)],
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "token_endpoint_auth_method": "none", "application_type": "web",
        ])
        return writer.bytes
    }
}

/// Hub users' connections: the management tools every caller has (`connect_mcp_server`,
/// `disconnect_mcp_server` with servers; `connect_account`, `disconnect_account` with accounts;
/// `list_my_connections`), each user's connected servers as a source of their tools, and the
/// `/connect` pages where they sign in to servers and accounts. It needs the embedded
/// authorization server, whose sign-in tells the connect page who is in the browser.
public struct ConnectionsMount: Sendable {
    public let tools: ConnectionTools
    /// The links that send a user's browser to sign in to one of their connections.
    public let links: ConnectLinks
    /// The accounts users may connect, when the operator set up providers.
    public let accounts: AccountAccess?
    /// Whether users may connect MCP servers (their tools then come from ``tools``).
    public let offersServers: Bool
    let routes: ConnectRoutes

    public init(services: ConnectionServices, hub: Hub, authorizationServer: AuthorizationServerMount, logger: Logger) {
        let tools = ConnectionTools(
            store: services.store, users: hub.users, tokens: services.tokens, links: services.links, http: services.http,
            allowPrivateServers: services.allowPrivateServers, accountNames: Set(services.accounts?.providers.all.map(\.name) ?? []),
            logger: logger)
        self.tools = tools
        self.links = services.links
        self.accounts = services.accounts
        self.offersServers = services.offersServers
        self.routes = ConnectRoutes(
            links: services.links, signIn: services.signIn, tools: tools, accounts: services.accounts,
            account: authorizationServer.browserAccount(users: hub.users),
            clientMetadata: services.clientMetadata)
    }

    /// The tools every caller has to manage their connections.
    public var managementTools: [MCPTool] {
        let servers = offersServers ? tools.managementTools : []
        let accountTools =
            accounts?.managementTools(
                userID: { [tools] context in try await tools.accountID(of: context.principal) },
                remove: { [tools] userID, name in try await tools.remove(userID: userID, name: name) }) ?? []
        return servers + accountTools + [tools.listConnectionsTool]
    }

    /// Each user's connected MCP servers, as a source of their tools (`nil` without servers).
    public var toolSource: (any ToolSource)? { offersServers ? tools : nil }

    /// Mounts `/connect` and `/connect/callback`.
    public func register<Context: GatehouseContext>(on router: Router<Context>) {
        routes.register(on: router)
    }
}
