import Foundation
import GatehouseCore
import MCP
import Synchronization

/// The session-era MCP sessions this process holds, with idle expiry and a size bound; with
/// ``SharedSessions``, also the sessions other instances opened.
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
        /// When the shared copy was last told the session was used.
        var sharedAt: ContinuousClock.Instant
    }

    private struct State {
        var sessions: [String: Session] = [:]
        /// Whether copies are used: always when nothing is shared; with a shared store, once
        /// its feed of ended sessions first listens. Before that, a session is looked up in the
        /// shared store at each use, since its end may have gone unnoticed.
        var usesCopies: Bool
    }

    private let state: Mutex<State>
    private let idleTimeout: Duration
    private let capacity: Int
    private let now: @Sendable () -> ContinuousClock.Instant
    /// Where other instances' sessions are; `nil` for a server that runs alone.
    public let shared: (any SharedSessions)?

    /// How often the shared copy hears that a session is still in use.
    static let sharedTouchInterval: Duration = .seconds(60)

    /// - Parameters:
    ///   - idleTimeout: a session unused for this long is forgotten.
    ///   - capacity: most sessions kept; creating one more evicts the least recently used.
    ///   - shared: sessions shared with other instances.
    ///   - now: the clock, replaceable in tests.
    public init(
        idleTimeout: Duration, capacity: Int, shared: (any SharedSessions)? = nil,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        precondition(capacity > 0, "session capacity must be positive")
        self.idleTimeout = idleTimeout
        self.capacity = capacity
        self.shared = shared
        self.now = now
        self.state = Mutex(State(usesCopies: shared == nil))
    }

    /// Starts a session for `version`, owned by `owner`, and returns it (saved for the other
    /// instances first, when shared).
    public func create(
        protocolVersion: ProtocolVersion, owner: Owner, clientCapabilities: JSONValue = .object([:])
    ) async throws -> Session {
        let instant = now()
        let session = Session(
            id: Self.makeID(), protocolVersion: protocolVersion, owner: owner, clientCapabilities: clientCapabilities,
            lastSeen: instant, sharedAt: instant)
        if let shared {
            var writer = JSONWriter()
            writer.value(clientCapabilities)
            try await shared.save(
                SharedSession(
                    id: session.id, protocolVersion: protocolVersion.rawValue, ownerIssuer: owner.issuer, ownerSubject: owner.subject,
                    clientCapabilities: String(decoding: writer.bytes, as: UTF8.self), lastSeen: Date()))
        }
        keep(session, at: instant)
        return session
    }

    /// The live session with `id` owned by `owner`, marked as just used; `nil` when unknown,
    /// ended, expired or owned by someone else. A session another instance opened is looked up
    /// in the shared store and kept here from then on.
    public func touch(_ id: String, owner: Owner) async -> Session? {
        let instant = now()
        enum Lookup { case missing, refused, found(Session) }
        let lookup = state.withLock { state -> Lookup in
            guard state.usesCopies, var session = state.sessions[id] else { return .missing }
            guard session.owner == owner else { return .refused }
            guard instant - session.lastSeen < idleTimeout else {
                state.sessions[id] = nil
                return .missing
            }
            session.lastSeen = instant
            state.sessions[id] = session
            return .found(session)
        }
        switch lookup {
        case .refused: return nil
        case .missing: break
        case .found(let local):
            if let shared, instant - local.sharedAt >= Self.sharedTouchInterval {
                state.withLock { $0.sessions[id]?.sharedAt = instant }
                try? await shared.touch(id: id, lastSeen: Date())
            }
            return local
        }
        guard let shared, let record = try? await shared.session(id: id),
            Date().timeIntervalSince(record.lastSeen) < idleTimeout.inSeconds,
            record.ownerIssuer == owner.issuer, record.ownerSubject == owner.subject
        else { return nil }
        let adopted = Session(
            id: id, protocolVersion: ProtocolVersion(rawValue: record.protocolVersion), owner: owner,
            clientCapabilities: (try? JSONValue.parse(Array(record.clientCapabilities.utf8))) ?? [:], lastSeen: instant, sharedAt: instant)
        keep(adopted, at: instant)
        try? await shared.touch(id: id, lastSeen: Date())
        return adopted
    }

    /// Ends session `id` of `owner`, here and for the other instances; returns false when
    /// `owner` has no such session.
    public func remove(_ id: String, owner: Owner) async -> Bool {
        guard await touch(id, owner: owner) != nil else { return false }
        state.withLock { $0.sessions[id] = nil }
        try? await shared?.end(id: id)
        return true
    }

    /// Follows the shared store's feed of ended sessions: drops this instance's copy of a
    /// session another instance ended. Each time the feed (again) listens, an end may have been
    /// missed before, so every copy is dropped: the next use finds the session in the shared
    /// store again, if it still exists. While the feed is not listening copies are still used,
    /// so a database outage does not also end the sessions this instance holds.
    public func apply(_ notice: ChangeNotice<String>) {
        state.withLock { state in
            switch notice {
            case .changed(let id): state.sessions[id] = nil
            case .listening:
                state.sessions = [:]
                state.usesCopies = true
            }
        }
    }

    private func keep(_ session: Session, at instant: ContinuousClock.Instant) {
        state.withLock { state in
            if state.sessions.count >= capacity { evict(from: &state, at: instant) }
            state.sessions[session.id] = session
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
