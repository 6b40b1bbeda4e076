import Crypto
import Foundation
import GatehouseAuth
import GatehouseClient
import GatehouseCore
import GatehouseEgress

/// Signs a hub user in to one of their connections, with the hub's own callback: to an MCP
/// server as an MCP client of it on the user's behalf, or to an account at one of the
/// operator's OAuth providers as the client the operator registered there.
///
/// ``begin(userID:name:scopes:)`` finds where to sign in and with which client id (for a
/// server: its authorization server by RFC 9728, then RFC 8414, and the connection's earlier
/// registration at that issuer, the hub's Client ID Metadata Document where the server accepts
/// them, else Dynamic Client Registration; for an account: the provider's settings), keeps the
/// pending authorization sealed in the store and returns the URL for the user's browser.
/// ``finish(parameters:browserUserID:)`` takes it back by its `state`, once, on any instance, and
/// keeps the tokens sealed with the connection.
public struct ConnectionSignIn: Sendable {
    /// How the hub presents itself to the servers its users connect to.
    public struct Settings: Sendable {
        /// The hub's callback, e.g. `https://hub.example.com/connect/callback`.
        public var callbackURL: String
        /// The hub's Client ID Metadata Document (an https URL), used where a server accepts them.
        public var clientMetadataURL: String?
        /// The `client_name` of a Dynamic Client Registration.
        public var clientName: String
        /// How long a sign-in may wait for the browser to come back.
        public var pendingLifetime: TimeInterval

        public init(callbackURL: String, clientMetadataURL: String? = nil, clientName: String = "Gatehouse hub", pendingLifetime: TimeInterval = 600) {
            self.callbackURL = callbackURL
            self.clientMetadataURL = clientMetadataURL
            self.clientName = clientName
            self.pendingLifetime = pendingLifetime
        }
    }

    let store: any ConnectionStore
    let vault: ConnectionVault
    let settings: Settings
    let egress: ConnectionEgress
    let accounts: AccountProviders?
    let now: @Sendable () -> Date

    /// - Parameters:
    ///   - http: reaches users' MCP servers.
    ///   - accounts: the operator's account providers, when users may connect accounts.
    public init(
        store: any ConnectionStore, secrets: SecretBox, settings: Settings, http: EgressClient = .clientDefault,
        accounts: AccountProviders? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.vault = ConnectionVault(secrets: secrets)
        self.settings = settings
        self.egress = ConnectionEgress(servers: http, accounts: accounts)
        self.accounts = accounts
        self.now = now
    }

    /// Starts signing `userID` in to their connection `name`; returns the authorization URL.
    /// `scopes` `nil` asks a server for what its metadata offers, and an account for the
    /// provider's configured scopes (which are always asked for, with any `scopes` added).
    public func begin(userID: Int64, name: String, scopes: [String]? = nil) async throws -> String {
        guard let connection = try await store.connection(userID: userID, name: name) else {
            throw ConnectionError("you have no connection named \(name)")
        }
        let pending =
            switch connection.kind {
            case .mcpServer: try await serverSignIn(connection, scopes: scopes)
            case .account: try await accountSignIn(connection, scopes: scopes)
            }
        try await store.insertPendingConnect(
            PendingConnect(
                stateHash: Self.hash(pending.state), userID: userID, name: name, sealedAuthorization: try vault.seal(pending),
                expiresAt: now().addingTimeInterval(settings.pendingLifetime)))
        return pending.authorizationURL
    }

    /// Finishes a sign-in with the query of the request that reached the callback, in the
    /// browser of hub user `browserUserID`; returns the connection, now connected. The pending
    /// sign-in is used up whatever the outcome, and one another user began is refused, so nobody
    /// can have their tokens land in someone else's connection.
    public func finish(parameters: [String: String], browserUserID: Int64) async throws -> UserConnection {
        guard let state = parameters["state"], let taken = try await store.takePendingConnect(stateHash: Self.hash(state), now: now())
        else { throw ConnectionError("this sign-in is unknown, already finished or expired; connect again") }
        guard taken.userID == browserUserID else {
            throw ConnectionError("this sign-in was started for another account than the one signed in to this browser")
        }
        let pending = try vault.openAuthorization(taken.sealedAuthorization)
        let kind = try await store.connection(userID: taken.userID, name: taken.name)?.kind ?? .mcpServer
        switch try await pending.redeem(try pending.code(from: parameters), http: egress.client(for: kind)) {
        case .clientRejected:
            throw ConnectionError("\(pending.authorizationServer.issuer) no longer knows the hub's client; connect again")
        case .signedIn(let login):
            let saved = try await store.saveLogin(
                userID: taken.userID, name: taken.name, sealedLogin: try vault.seal(login), status: .connected, claim: nil, now: now())
            guard saved, let connection = try await store.connection(userID: taken.userID, name: taken.name) else {
                throw ConnectionError("the connection \(taken.name) was removed while signing in")
            }
            return connection
        }
    }

    /// A sign-in to an MCP server: discovered from the server, as any MCP client's.
    private func serverSignIn(_ connection: UserConnection, scopes: [String]?) async throws -> PendingSignIn {
        let discovered = try await ServerAuthorization.discover(serverURL: connection.serverURL, http: egress.servers)
        let client = try await client(at: discovered.server, previous: try? connection.sealedLogin.map(vault.openLogin))
        return PendingSignIn(
            serverURL: connection.serverURL, resource: discovered.resource.resource, server: discovered.server, clientID: client.clientID,
            clientSecret: client.clientSecret, redirectURI: settings.callbackURL, scopes: scopes ?? discovered.defaultScopes)
    }

    /// A sign-in to an account: at the provider the connection is named after, as the client the
    /// operator registered there, for its configured scopes and any more a tool needs.
    private func accountSignIn(_ connection: UserConnection, scopes: [String]?) async throws -> PendingSignIn {
        guard let provider = accounts?.provider(named: connection.name), let accounts else {
            throw ConnectionError("this hub no longer offers \(connection.name) accounts; remove the connection")
        }
        var wanted = provider.scopes
        for scope in scopes ?? [] where !wanted.contains(scope) { wanted.append(scope) }
        return PendingSignIn(
            serverURL: "", resource: provider.resource, server: try await accounts.authorizationServer(of: provider),
            clientID: provider.clientID, clientSecret: provider.clientSecret?.value, redirectURI: settings.callbackURL, scopes: wanted,
            extraParameters: provider.authorizeParameters, clientSecretMethod: provider.clientSecretMethod)
    }

    /// The client id to sign in with at `server`, in the specification's order of preference.
    private func client(at server: AuthorizationServerInfo, previous: StoredLogin?) async throws -> ClientRegistration {
        if let previous, previous.authorizationServer.issuer == server.issuer, previous.redirectURI == settings.callbackURL {
            return ClientRegistration(clientID: previous.clientID, clientSecret: previous.clientSecret)
        }
        if let document = settings.clientMetadataURL, server.supportsClientIDMetadataDocuments {
            return ClientRegistration(clientID: document, clientSecret: nil)
        }
        guard let endpoint = server.registrationEndpoint else {
            throw ConnectionError(
                "\(server.issuer) accepts neither Dynamic Client Registration nor (for this hub) Client ID Metadata Documents; the hub cannot sign in there")
        }
        return try await ClientRegistration.register(
            at: endpoint, clientName: settings.clientName, redirectURI: settings.callbackURL, applicationType: "web", http: egress.servers)
    }

    /// The store keeps only the hash of a state: a database reader cannot finish a sign-in.
    static func hash(_ state: String) -> String {
        SHA256.hash(data: Data(state.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Why a connection cannot be used or signed in to, in words for the user.
public struct ConnectionError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
