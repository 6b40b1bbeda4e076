import Foundation

/// Where the hub keeps its users, the tools each user activated, and the data of those tools.
///
/// `GatehouseSQLite.SQLiteStore` implements it; a PostgreSQL store can follow without touching
/// callers. Every method is one transaction.
public protocol HubStore: Sendable {
    /// Creates the user for `identity`, or updates the stored user with it
    /// (``UserIdentity/merging(into:)``) and their last-seen time.
    func provisionUser(_ identity: UserIdentity, now: Date) async throws -> HubUser
    /// Records that the user was seen at `now`.
    func touchUser(id: Int64, now: Date) async throws
    /// Every user, oldest first.
    func users() async throws -> [HubUser]

    /// The tools the user activated, in activation order.
    func activeTools(userID: Int64) async throws -> [ActiveTool]
    /// Activates `name` with `configuration` (JSON); false when it is already active.
    func activateTool(userID: Int64, name: String, configuration: String, now: Date) async throws -> Bool
    /// Replaces the configuration of an active tool; false when it is not active.
    func configureTool(userID: Int64, name: String, configuration: String, now: Date) async throws -> Bool
    /// Deactivates `name` and deletes the user's `data` of it; false when it was not active.
    func deactivateTool(userID: Int64, name: String, deleting data: Set<ToolData>) async throws -> Bool

    /// Adds a note of the user's notes tool; returns its id, or nil when `quota` admits no more.
    func addNote(userID: Int64, text: String, quota: Quota, now: Date) async throws -> Int64?
    /// The user's newest notes first.
    func notes(userID: Int64, limit: Int) async throws -> [Note]
    /// Sets a key of the user's memory; false when the key is new and `quota` admits no more.
    func remember(userID: Int64, key: String, value: String, quota: Quota, now: Date) async throws -> Bool
    func recall(userID: Int64, key: String) async throws -> String?
    func memoryKeys(userID: Int64) async throws -> [String]
}

/// Who a token says the caller is, as the hub records it.
public struct UserIdentity: Sendable, Equatable {
    /// The token's issuer; with the subject it identifies the user.
    public var issuer: String
    public var subject: String
    public var email: String?
    public var name: String?
    /// The kind of provider that signed the user in: embedded, authkit, jwt, introspection, static, none.
    public var oauthProvider: String
    public var organizationID: String?

    public init(issuer: String, subject: String, email: String?, name: String?, oauthProvider: String, organizationID: String?) {
        self.issuer = issuer
        self.subject = subject
        self.email = email
        self.name = name
        self.oauthProvider = oauthProvider
        self.organizationID = organizationID
    }
}

extension UserIdentity {
    /// The identity to store when a token presents `self` for a user already stored as
    /// `stored`: what the token says replaces what was stored, and what it leaves out (a token
    /// without `email` or `name`) keeps the stored value.
    public func merging(into stored: UserIdentity) -> UserIdentity {
        UserIdentity(
            issuer: issuer, subject: subject, email: email ?? stored.email, name: name ?? stored.name, oauthProvider: oauthProvider,
            organizationID: organizationID ?? stored.organizationID)
    }
}

/// Data a tool kind keeps for each user, deleted with the tool (``ToolKind/data``).
public enum ToolData: String, Sendable, Hashable {
    case notes
    case memory
}

/// How many items of one kind a user may keep (notes, memory keys); a store applies it while
/// it holds the user's items, so concurrent additions cannot overshoot.
public struct Quota: Sendable, Equatable {
    public var limit: Int

    public init(limit: Int) { self.limit = limit }

    /// Whether a user who has `count` items may add one more.
    public func admitsOneMore(having count: Int) -> Bool { count < limit }
}

/// A user of the hub.
public struct HubUser: Sendable, Equatable {
    public var id: Int64
    public var identity: UserIdentity
    public var createdAt: Date
    public var lastSeenAt: Date

    public init(id: Int64, identity: UserIdentity, createdAt: Date, lastSeenAt: Date) {
        self.id = id
        self.identity = identity
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
    }
}

/// A tool a user activated, with its stored configuration (secrets sealed).
public struct ActiveTool: Sendable, Equatable {
    public var name: String
    /// The configuration as stored: JSON, with secret fields sealed by ``SecretBox``.
    public var configuration: String
    public var activatedAt: Date
    public var updatedAt: Date

    public init(name: String, configuration: String, activatedAt: Date, updatedAt: Date) {
        self.name = name
        self.configuration = configuration
        self.activatedAt = activatedAt
        self.updatedAt = updatedAt
    }
}

/// One note of the notes tool.
public struct Note: Sendable, Equatable {
    public var id: Int64
    public var text: String
    public var createdAt: Date

    public init(id: Int64, text: String, createdAt: Date) {
        self.id = id
        self.text = text
        self.createdAt = createdAt
    }
}
