/// Why an upstream gave no answer. The description is shown to the client, so it names the
/// problem without internals (never a token, never a response body beyond a short excerpt).
public enum UpstreamFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Cannot connect, or the connection broke.
    case unreachable(String)
    /// Silent for longer than the upstream's timeout.
    case timedOut(Duration)
    /// Answered with something that is not MCP.
    case protocolViolation(String)
    /// Known to be down, starting, or missing something the gateway needs.
    case unavailable(String)
    /// Refused the gateway's credentials (HTTP 401/403).
    case refused(status: Int)
    /// No identity for the caller toward this upstream (the provider refused a token exchange).
    case identityRefused(String)
    /// The session the gateway held is gone (HTTP 404); the gateway opens a new one.
    case sessionExpired
    /// The upstream answered `initialize` with an error: it serves no sessions.
    case sessionsRefused(String)

    public var description: String {
        switch self {
        case .unreachable(let reason): "cannot reach it: \(reason)"
        case .timedOut(let timeout): "no answer within \(timeout.components.seconds) s"
        case .protocolViolation(let detail): "it answered with something that is not MCP: \(detail)"
        case .unavailable(let reason): reason
        case .refused(let status): "it refused the gateway's credentials (HTTP \(status)); check the upstream's identity setting"
        case .identityRefused(let reason): reason
        case .sessionExpired: "its session ended"
        case .sessionsRefused(let reason): "it refused to open a session: \(reason)"
        }
    }

    /// Whether the failure says the upstream is down (so it should leave lists and be retried
    /// with backoff) rather than that one request went wrong.
    var marksDown: Bool {
        switch self {
        case .unreachable, .timedOut, .unavailable: true
        case .protocolViolation, .refused, .identityRefused, .sessionExpired, .sessionsRefused: false
        }
    }
}
