import Foundation
import GatehouseAuth
import GatehouseClient
import GatehouseCore
import GatehouseEgress

/// The access token the hub presents to a user's connected MCP server, refreshed ahead of its
/// expiry by one caller at a time across instances (``ConnectionStore/claimRefresh``).
///
/// A refused refresh (a 4xx) marks the connection as needing the user to sign in again; a
/// failing token endpoint (a 5xx, no answer) is transient: the current token is used while it
/// lasts, and the next call tries again.
public struct ConnectionTokens: Sendable {
    /// What the caller can do with the connection now.
    public enum Access: Sendable, Equatable {
        case token(String)
        /// The user must sign in to the server again (never signed in, or the server refused).
        case reconnectNeeded(String)
    }

    let store: any ConnectionStore
    let vault: ConnectionVault
    let egress: ConnectionEgress
    let now: @Sendable () -> Date
    /// A token this close to its expiry is refreshed first.
    let refreshMargin: TimeInterval
    /// How long one caller may hold the refresh before another may take it over.
    let claimLease: TimeInterval
    /// How long a caller whose token has expired waits for another caller's refresh.
    let refreshWait: Duration

    /// - Parameters:
    ///   - http: reaches the authorization servers of users' MCP servers.
    ///   - accounts: the operator's account providers, whose token endpoints refresh accounts.
    public init(
        store: any ConnectionStore, secrets: SecretBox, http: EgressClient = .clientDefault, accounts: AccountProviders? = nil,
        refreshMargin: TimeInterval = 30, claimLease: TimeInterval = 30, refreshWait: Duration = .seconds(5),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.vault = ConnectionVault(secrets: secrets)
        self.egress = ConnectionEgress(servers: http, accounts: accounts)
        self.refreshMargin = refreshMargin
        self.claimLease = claimLease
        self.refreshWait = refreshWait
        self.now = now
    }

    /// A token for `userID`'s connection `name`, refreshed first when it is about to expire or
    /// when it is `rejected`, the token the server just refused.
    public func access(userID: Int64, name: String, rejected: String? = nil) async throws -> Access {
        guard let connection = try await store.connection(userID: userID, name: name) else {
            throw ConnectionError("you have no connection named \(name)")
        }
        return try await access(connection, rejected: rejected)
    }

    /// The same for `connection` as the caller just read it from the store (a refresh claims
    /// the row and re-reads it, so a copy another caller has since refreshed is not refreshed again).
    public func access(_ connection: UserConnection, rejected: String? = nil) async throws -> Access {
        let (userID, name) = (connection.userID, connection.name)
        guard connection.status == .connected, let sealed = connection.sealedLogin else { return Self.reconnect(connection) }
        let login = try vault.openLogin(sealed)
        if let token = login.accessToken, token != rejected, !login.accessTokenIsStale(now: now(), margin: refreshMargin) {
            return .token(token)
        }
        let claim = Base64URL.random(byteCount: 16)
        if let claimed = try await store.claimRefresh(
            userID: userID, name: name, claim: claim, now: now(), until: now().addingTimeInterval(claimLease))
        {
            return try await refresh(claimed, claim: claim, rejected: rejected)
        }
        // Another caller refreshes: its token may still serve, else wait for the new one.
        if let token = login.accessToken, token != rejected, !login.accessTokenIsStale(now: now(), margin: 0) { return .token(token) }
        return try await awaitRefresh(userID: userID, name: name, replacing: sealed)
    }

    /// Refreshes under `claim`, then records the outcome, which ends the claim.
    private func refresh(_ connection: UserConnection, claim: String, rejected: String?) async throws -> Access {
        guard connection.status == .connected, let sealed = connection.sealedLogin else {
            _ = try await store.saveLogin(
                userID: connection.userID, name: connection.name, sealedLogin: connection.sealedLogin, status: connection.status, claim: claim,
                now: now())
            return Self.reconnect(connection)
        }
        let current = try vault.openLogin(sealed)
        // Refreshed by another caller between the read and the claim: nothing to do.
        if let token = current.accessToken, token != rejected, !current.accessTokenIsStale(now: now(), margin: refreshMargin) {
            try await record(current, .connected, connection, claim)
            return .token(token)
        }
        let outcome: StoredLogin.RefreshOutcome
        do {
            outcome = try await current.refreshed(http: egress.client(for: connection.kind))
        } catch {
            outcome = .unavailable(error.description)
        }
        switch outcome {
        case .refreshed(let refreshed):
            try await record(refreshed, .connected, connection, claim)
            return .token(refreshed.accessToken ?? "")
        case .refused(let reason):
            // Kept without tokens: the client registration serves the next sign-in.
            var spent = current
            spent.accessToken = nil
            spent.refreshToken = nil
            try await record(spent, .reconnectNeeded, connection, claim)
            return .reconnectNeeded("\(connection.name) refused the hub's refresh (\(reason)); sign in to it again")
        case .unavailable(let reason):
            try await record(current, .connected, connection, claim)
            if let token = current.accessToken, token != rejected, !current.accessTokenIsStale(now: now(), margin: 0) {
                return .token(token)
            }
            throw ConnectionError("\(connection.name)'s authorization server cannot refresh the hub's token now (\(reason)); try again shortly")
        }
    }

    private func record(_ login: StoredLogin, _ status: UserConnection.Status, _ connection: UserConnection, _ claim: String) async throws {
        _ = try await store.saveLogin(
            userID: connection.userID, name: connection.name, sealedLogin: try vault.seal(login), status: status, claim: claim, now: now())
    }

    /// Polls for the outcome of another caller's refresh, for up to ``refreshWait``.
    private func awaitRefresh(userID: Int64, name: String, replacing sealed: String) async throws -> Access {
        let deadline = ContinuousClock.now + refreshWait
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            guard let connection = try await store.connection(userID: userID, name: name) else {
                throw ConnectionError("the connection \(name) was removed")
            }
            // Every save seals anew (a fresh nonce), so a saved refresh differs from what was read.
            guard connection.sealedLogin != sealed || connection.status != .connected else { continue }
            guard connection.status == .connected, let sealed = connection.sealedLogin else { return Self.reconnect(connection) }
            let login = try vault.openLogin(sealed)
            if let token = login.accessToken, !login.accessTokenIsStale(now: now(), margin: 0) { return .token(token) }
        }
        throw ConnectionError("the refresh of \(name)'s token by another request did not finish in time; try again")
    }

    private static func reconnect(_ connection: UserConnection) -> Access {
        .reconnectNeeded(
            connection.status == .pending
                ? "you have not signed in to \(connection.name) yet" : "\(connection.name) needs you to sign in to it again")
    }
}
