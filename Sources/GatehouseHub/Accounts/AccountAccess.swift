import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress
import GatehouseMCP

/// What a user's tools may do with the accounts the user connected at the operator's OAuth
/// providers: get the user's token for a provider's API, holding the scopes the tool needs, or
/// send a request there with it. When the user has not connected the account, or has not
/// granted a scope, the tool throws ``URLElicitationRequired``: the client asks the user to
/// open the connect link (or shows it in the tool error), and the retried call goes on.
///
/// A ``ToolKind`` that uses accounts is built with it, as ``ToolKind/httpFetch(allowPrivateAddresses:accounts:)`` is.
public struct AccountAccess: Sendable {
    public let providers: AccountProviders
    let store: any ConnectionStore
    let vault: ConnectionVault
    let tokens: ConnectionTokens
    let links: ConnectLinks

    public init(providers: AccountProviders, store: any ConnectionStore, secrets: SecretBox, tokens: ConnectionTokens, links: ConnectLinks) {
        self.providers = providers
        self.store = store
        self.vault = ConnectionVault(secrets: secrets)
        self.tokens = tokens
        self.links = links
    }

    /// `userID`'s access token for their `account`, granted at least `scopes`, refreshed first
    /// when it is about to expire or is `rejected`, the token the provider just refused.
    ///
    /// - Throws: ``URLElicitationRequired`` when the user must connect the account (it is added
    ///   to their connections), sign in to it again or grant more scopes; ``ToolError`` when the
    ///   hub offers no such account or the token cannot be had now.
    public func token(userID: Int64, account: String, scopes: [String] = [], rejected: String? = nil) async throws -> String {
        let provider = try self.provider(account)
        let connection = try await accountConnection(userID: userID, provider: provider)
        guard connection.status == .connected, let sealed = connection.sealedLogin else {
            throw try signInNeeded(connection, provider, scopes: scopes, again: connection.status == .reconnectNeeded)
        }
        let login = try vault.openLogin(sealed)
        let held = Set(login.scopes + (login.askedScopes ?? []))
        let missing = scopes.filter { !held.contains($0) }
        if !missing.isEmpty {
            throw try moreScopesNeeded(connection, provider, granted: login.scopes, missing: missing)
        }
        do {
            switch try await tokens.access(connection, rejected: rejected) {
            case .token(let token): return token
            case .reconnectNeeded: throw try signInNeeded(connection, provider, scopes: scopes, again: true)
            }
        } catch let error as ConnectionError {
            throw ToolError(error.description)
        }
    }

    /// GETs `url` from `account`'s API with the user's token (`Authorization: Bearer`), at a host
    /// the provider's settings allow only. A 401 refreshes the token and tries once more; a 403
    /// whose RFC 6750 challenge says `insufficient_scope` asks the user to grant the scopes it
    /// names.
    public func get(
        _ url: String, headers: [(String, String)] = [], userID: Int64, account: String, scopes: [String] = [], http: EgressClient
    ) async throws -> EgressClient.Response {
        let provider = try self.provider(account)
        guard let components = URLComponents(string: url), let host = components.host, provider.sendsToken(toHost: host, port: components.port)
        else {
            throw ToolError(
                "the \(provider.title) token is sent only to \(provider.apiHosts.joined(separator: ", ")); \(url.prefix(100)) is not there")
        }
        let token = try await self.token(userID: userID, account: account, scopes: scopes)
        let first = try await get(url, headers: headers, token: token, userID: userID, provider: provider, http: http)
        guard first.status == 401 else { return first }
        let refreshed = try await self.token(userID: userID, account: account, scopes: scopes, rejected: token)
        return try await get(url, headers: headers, token: refreshed, userID: userID, provider: provider, http: http)
    }

    private func get(
        _ url: String, headers: [(String, String)], token: String, userID: Int64, provider: AccountProvider, http: EgressClient
    ) async throws -> EgressClient.Response {
        let response: EgressClient.Response
        do {
            response = try await http.send(url, headers: headers + [("Authorization", "Bearer " + token)])
        } catch {
            throw ToolError("\(error)")
        }
        // RFC 6750 §3.1: insufficient_scope names, in `scope`, what the request needs.
        if response.status == 403, let challenge = response.headers.first(name: "WWW-Authenticate").flatMap(BearerChallengeParameters.init(header:)),
            challenge.error == "insufficient_scope"
        {
            let connection = try await accountConnection(userID: userID, provider: provider)
            let granted = try connection.sealedLogin.map(vault.openLogin)?.scopes ?? []
            let missing = challenge.scope.filter { !granted.contains($0) }
            if !missing.isEmpty { throw try moreScopesNeeded(connection, provider, granted: granted, missing: missing) }
        }
        return response
    }

    func provider(_ account: String) throws -> AccountProvider {
        guard let provider = providers.provider(named: account) else {
            throw ToolError("this hub offers no \(account) accounts (it offers: \(providers.all.map(\.name).joined(separator: ", ")))")
        }
        return provider
    }

    /// The user's connection of `provider`'s account, added (not signed in yet) when they have none.
    public func accountConnection(userID: Int64, provider: AccountProvider) async throws -> UserConnection {
        if let connection = try await store.connection(userID: userID, name: provider.name) {
            guard connection.kind == .account else {
                throw ToolError(
                    "your MCP server connection \(provider.name) has the name of the \(provider.title) account; remove it (disconnect_mcp_server) to connect the account"
                )
            }
            return connection
        }
        let now = Date()
        let connection = UserConnection(userID: userID, name: provider.name, kind: .account, serverURL: "", createdAt: now, updatedAt: now)
        if try await store.addConnection(connection, limit: providers.all.count) {
            AuditLog.record(.hubToolsChanged, ["action": "connected", "tool": .string("account:" + provider.name), "user_id": .int(Int(userID))])
        }
        return try await store.connection(userID: userID, name: provider.name) ?? connection
    }

    /// The URL elicitation that asks the user to sign in to their account.
    func signInNeeded(_ connection: UserConnection, _ provider: AccountProvider, scopes: [String], again: Bool) throws -> URLElicitationRequired {
        URLElicitationRequired(
            url: try links.link(userID: connection.userID, name: connection.name, scopes: scopes.isEmpty ? nil : scopes),
            message: again
                ? "Your \(provider.title) account needs you to sign in to it again." : "Connect your \(provider.title) account to use this tool.",
            elicitationID: Base64URL.random(byteCount: 16))
    }

    /// The URL elicitation that asks the user to grant `missing` scopes besides those they have.
    private func moreScopesNeeded(
        _ connection: UserConnection, _ provider: AccountProvider, granted: [String], missing: [String]
    ) throws -> URLElicitationRequired {
        URLElicitationRequired(
            url: try links.link(userID: connection.userID, name: connection.name, scopes: granted + missing),
            message: "This tool needs more of your \(provider.title) account: \(missing.joined(separator: ", ")). Sign in to grant it.",
            elicitationID: Base64URL.random(byteCount: 16))
    }
}
