import Foundation
import GatehouseCore

/// Session-era sessions kept where every instance behind a load balancer finds them (the
/// PostgreSQL store), so a round-robin balancer needs no sticky sessions. ``SessionStore`` keeps
/// its in-memory copy and falls back to this on a miss.
public protocol SharedSessions: Sendable {
    /// Records a new session.
    func save(_ session: SharedSession) async throws
    /// The session with `id`, if it was saved and not ended; its `lastSeen` as last recorded.
    func session(id: String) async throws -> SharedSession?
    /// Records that the session was used at `lastSeen` (called at most once a minute per instance).
    func touch(id: String, lastSeen: Date) async throws
    /// Ends the session everywhere: other instances drop their copies.
    func end(id: String) async throws
    /// Calls `notice` with the id of every session ended on any instance, and each time it
    /// (again) listens, until cancelled.
    func followEndedSessions(_ notice: @escaping @Sendable (ChangeNotice<String>) -> Void) async
}

/// What instances share about a session.
public struct SharedSession: Sendable, Equatable {
    public var id: String
    public var protocolVersion: String
    public var ownerIssuer: String?
    public var ownerSubject: String?
    /// The client's `initialize` capabilities, as JSON text.
    public var clientCapabilities: String
    public var lastSeen: Date

    public init(
        id: String, protocolVersion: String, ownerIssuer: String?, ownerSubject: String?, clientCapabilities: String, lastSeen: Date
    ) {
        self.id = id
        self.protocolVersion = protocolVersion
        self.ownerIssuer = ownerIssuer
        self.ownerSubject = ownerSubject
        self.clientCapabilities = clientCapabilities
        self.lastSeen = lastSeen
    }
}
