import Foundation
import GatehouseCore

/// A hub user's connection to a remote MCP server of their own choosing, which the hub signs in
/// to on the user's behalf (issue 18's `mcp_server` tools).
public struct UserConnection: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// Added, never signed in.
        case pending
        /// Signed in: the login holds usable tokens.
        case connected
        /// The server refused the tokens or their refresh (a 4xx): the user must sign in again.
        case reconnectNeeded = "reconnect_needed"
    }

    /// What the user connected.
    public enum Kind: String, Sendable {
        /// A remote MCP server, whose tools become the user's.
        case mcpServer = "mcp_server"
        /// An account at a provider the operator configured (``AccountProvider``), whose token
        /// the user's tools send to its API.
        case account
    }

    public var userID: Int64
    /// The user's name for it, unique per user: a server's tools are namespaced with it; an
    /// account's is the provider's name.
    public var name: String
    public var kind: Kind
    /// A server's MCP endpoint; empty for an account.
    public var serverURL: String
    public var status: Status
    /// The client registration and tokens (a `StoredLogin` as JSON), sealed with the server key;
    /// `nil` before the first sign-in.
    public var sealedLogin: String?
    public var createdAt: Date
    public var updatedAt: Date

    /// What a connection's name may be (``ConnectionName``), for a JSON Schema or an HTML form.
    public static let namePattern = ConnectionName.pattern

    /// Whether `name` matches ``namePattern``.
    public static func isValidName(_ name: String) -> Bool { ConnectionName.isValid(name) }

    public init(
        userID: Int64, name: String, kind: Kind = .mcpServer, serverURL: String, status: Status = .pending, sealedLogin: String? = nil,
        createdAt: Date, updatedAt: Date
    ) {
        self.userID = userID
        self.name = name
        self.kind = kind
        self.serverURL = serverURL
        self.status = status
        self.sealedLogin = sealedLogin
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A sign-in to a connection's server, waiting for the browser to come back to the hub's
/// callback, which any instance may receive: kept by the hash of its `state`, taken once.
public struct PendingConnect: Sendable, Equatable {
    /// SHA-256 of the `state` sent to the authorization server, hex.
    public var stateHash: String
    public var userID: Int64
    public var name: String
    /// The pending authorization (PKCE verifier, client), sealed with the server key.
    public var sealedAuthorization: String
    public var expiresAt: Date

    public init(stateHash: String, userID: Int64, name: String, sealedAuthorization: String, expiresAt: Date) {
        self.stateHash = stateHash
        self.userID = userID
        self.name = name
        self.sealedAuthorization = sealedAuthorization
        self.expiresAt = expiresAt
    }
}

/// Where hub users' connections and their pending sign-ins are kept: SQLite for one process,
/// PostgreSQL for instances behind a load balancer.
///
/// A connection's tokens are refreshed by one instance at a time: ``claimRefresh`` grants a
/// claim for a short lease, and ``saveLogin`` applies a refresh only under the claim it was made
/// with. Nobody holds a database lock across the call to the authorization server, and a claim
/// whose holder died lapses with its lease.
public protocol ConnectionStore: Sendable {
    /// Adds `connection` unless the user has one by that name or already has `limit` of its
    /// kind; returns whether it was added.
    func addConnection(_ connection: UserConnection, limit: Int) async throws -> Bool
    /// The user's connections, by name.
    func connections(userID: Int64) async throws -> [UserConnection]
    func connection(userID: Int64, name: String) async throws -> UserConnection?
    /// Records a sign-in or a refresh: the sealed login and the status. With `claim`, only while
    /// that refresh claim still holds; without, it supersedes any claim. Either way the claim ends.
    /// Returns whether it was recorded.
    func saveLogin(
        userID: Int64, name: String, sealedLogin: String?, status: UserConnection.Status, claim: String?, now: Date
    ) async throws -> Bool
    /// Claims the refresh of the connection's tokens as `claim` until `until`; returns the
    /// connection when claimed, `nil` when there is none or another unexpired claim holds.
    func claimRefresh(userID: Int64, name: String, claim: String, now: Date, until: Date) async throws -> UserConnection?
    /// Removes the connection and its pending sign-ins; returns whether there was one.
    func removeConnection(userID: Int64, name: String) async throws -> Bool
    func insertPendingConnect(_ pending: PendingConnect) async throws
    /// The pending sign-in with this state hash, removed so it is used once; `nil` when unknown
    /// or expired at `now` (expired ones are removed too).
    func takePendingConnect(stateHash: String, now: Date) async throws -> PendingConnect?
}
