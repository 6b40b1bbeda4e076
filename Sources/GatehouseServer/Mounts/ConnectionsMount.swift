import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress
import GatehouseHub
import GatehouseMCP
import Hummingbird
import Logging

/// Hub users' own remote MCP servers (`GATEHOUSE_CONNECTIONS=true`): the management tools every
/// caller has (`connect_mcp_server`, `disconnect_mcp_server`, `list_my_connections`), each
/// user's connected servers as a source of their tools, and the `/connect` pages where they sign
/// in to those servers. It needs the embedded authorization server (whose sign-in tells the
/// connect page who is in the browser) and `GATEHOUSE_SECRET_KEY` (which seals the tokens).
public struct ConnectionsMount: Sendable {
    public let tools: ConnectionTools
    /// The links that send a user's browser to sign in to one of their connections.
    public let links: ConnectLinks
    let routes: ConnectRoutes

    public init(
        configuration: GatehouseConfiguration, store: any ConnectionStore, hub: Hub, authorizationServer: AuthorizationServerMount,
        logger: Logger
    ) throws(StartupProblem) {
        guard let key = configuration.hub.secretKey else {
            throw StartupProblem("GATEHOUSE_CONNECTIONS needs GATEHOUSE_SECRET_KEY, which seals the tokens of users' servers")
        }
        let secrets = SecretBox(keyBytes: key)
        let base = configuration.baseURL()
        // Users name these servers, and the servers name further URLs: https to public addresses
        // only, unless private servers are allowed (tests, intranets).
        let http = EgressClient(
            timeout: .seconds(30), maxBytes: 4 * 1024 * 1024, policy: configuration.hub.allowPrivateConnections ? .anyHTTP : .publicHTTPS)
        let links = ConnectLinks(secrets: secrets, pageURL: base.url(for: ConnectRoutes.path))
        let callbackURL = base.url(for: ConnectRoutes.callbackPath)
        // Client ID Metadata Documents (CIMD §3): a client id is an https URL; http only where
        // private servers are allowed (tests, intranets), since no public server accepts one.
        let documentURL = base.url(for: ConnectRoutes.clientMetadataPath)
        let usesDocument = base.scheme == "https" || configuration.hub.allowPrivateConnections
        let signIn = ConnectionSignIn(
            store: store, secrets: secrets,
            settings: .init(callbackURL: callbackURL, clientMetadataURL: usesDocument ? documentURL : nil), http: http)
        let tools = ConnectionTools(
            store: store, users: hub.users, tokens: ConnectionTokens(store: store, secrets: secrets, http: http), links: links, http: http,
            allowPrivateServers: configuration.hub.allowPrivateConnections, logger: logger)
        self.tools = tools
        self.links = links
        self.routes = ConnectRoutes(
            links: links, signIn: signIn, tools: tools, account: authorizationServer.browserAccount(users: hub.users),
            clientMetadata: usesDocument ? Self.clientMetadata(documentURL: documentURL, callbackURL: callbackURL, base: base) : nil)
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

    /// The tools every caller has to manage their connections.
    public var managementTools: [MCPTool] { tools.managementTools }

    /// Mounts `/connect` and `/connect/callback`.
    public func register<Context: GatehouseContext>(on router: Router<Context>) {
        routes.register(on: router)
    }
}
