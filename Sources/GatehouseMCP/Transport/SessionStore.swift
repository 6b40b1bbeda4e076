import Foundation
import GatehouseCore
import MCP
import Synchronization

/// The session-era MCP sessions this process holds, with idle expiry and a size bound.
///
/// Streamable HTTP (2025-11-25, "Session Management"): the session id SHOULD be
/// globally unique and cryptographically secure and MUST contain only visible ASCII;
/// once a session ends the server MUST answer requests carrying its id with 404.
public final class SessionStore: Sendable {
    /// Who opened a session: the issuer and subject of the principal, or anonymous.
    public struct Owner: Sendable, Hashable {
        let issuer: String?
        let subject: String?

        public init(_ principal: Principal) {
            issuer = principal.isAnonymous ? nil : principal.issuer
            subject = principal.isAnonymous ? nil : principal.subject
        }
    }

    /// What the server remembers about one session.
    public struct Session: Sendable, Equatable {
        public let id: String
        /// The revision negotiated by `initialize`.
        public let protocolVersion: ProtocolVersion
        /// The principal that opened the session; only it may use the session.
        public let owner: Owner
        /// The capabilities the client declared in `initialize`.
        public let clientCapabilities: JSONValue
        var lastSeen: ContinuousClock.Instant
    }

    private struct State {
        var sessions: [String: Session] = [:]
    }

    private let state = Mutex(State())
    private let idleTimeout: Duration
    private let capacity: Int
    private let now: @Sendable () -> ContinuousClock.Instant

    /// - Parameters:
    ///   - idleTimeout: a session unused for this long is forgotten.
    ///   - capacity: most sessions kept; creating one more evicts the least recently used.
    ///   - now: the clock, replaceable in tests.
    public init(
        idleTimeout: Duration, capacity: Int,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        precondition(capacity > 0, "session capacity must be positive")
        self.idleTimeout = idleTimeout
        self.capacity = capacity
        self.now = now
    }

    /// Starts a session for `version`, owned by `owner`, and returns it.
    public func create(protocolVersion: ProtocolVersion, owner: Owner, clientCapabilities: JSONValue = .object([:])) -> Session {
        let instant = now()
        let session = Session(
            id: Self.makeID(), protocolVersion: protocolVersion, owner: owner, clientCapabilities: clientCapabilities,
            lastSeen: instant)
        state.withLock { state in
            if state.sessions.count >= capacity { evict(from: &state, at: instant) }
            state.sessions[session.id] = session
        }
        return session
    }

    /// The live session with `id` owned by `owner`, marked as just used; `nil` when unknown,
    /// ended, expired or owned by someone else.
    public func touch(_ id: String, owner: Owner) -> Session? {
        let instant = now()
        return state.withLock { state in
            guard var session = state.sessions[id], session.owner == owner else { return nil }
            guard instant - session.lastSeen < idleTimeout else {
                state.sessions[id] = nil
                return nil
            }
            session.lastSeen = instant
            state.sessions[id] = session
            return session
        }
    }

    /// Ends session `id` of `owner`; returns false when `owner` has no such session.
    @discardableResult
    public func remove(_ id: String, owner: Owner) -> Bool {
        state.withLock { state in
            guard state.sessions[id]?.owner == owner else { return false }
            state.sessions[id] = nil
            return true
        }
    }

    /// The number of sessions held, including expired ones not yet swept.
    public var count: Int { state.withLock { $0.sessions.count } }

    /// Drops expired sessions, then, if still full, the least recently used one.
    private func evict(from state: inout State, at instant: ContinuousClock.Instant) {
        state.sessions = state.sessions.filter { instant - $0.value.lastSeen < idleTimeout }
        if state.sessions.count >= capacity,
            let oldest = state.sessions.values.min(by: { $0.lastSeen < $1.lastSeen })
        {
            state.sessions[oldest.id] = nil
        }
    }

    /// 256 random bits from the system CSPRNG, base64url-encoded (43 visible ASCII characters).
    static func makeID() -> String {
        Base64URL.random(byteCount: 32)
    }
}
