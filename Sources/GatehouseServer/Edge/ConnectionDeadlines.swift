/// The deadlines of one HTTP/1.1 connection, as a state machine: which phase it is in, since
/// when, and so when the server gives up on the client.
///
/// - idle (after accept or a response): the keep-alive timeout;
/// - reading a head (from its first byte): the head timeout, so a head sent a byte at a time
///   cannot hold the connection;
/// - reading a body (from the head): the body timeout, however steadily bytes trickle in;
/// - handling (request read, response not finished): no deadline; tools take their time;
/// - closing (the server half-closed its side after a response, e.g. to a request it refused
///   before reading its body): a short grace for the client to read the answer and close.
///
/// It knows no channel and no clock: ``ConnectionDeadlineHandler`` feeds it events with the time
/// and acts on the deadline.
struct ConnectionDeadlines {
    typealias Instant = ContinuousClock.Instant

    struct Limits: Sendable {
        var head: Duration
        var body: Duration
        var idle: Duration
        var closing: Duration
    }

    enum Phase: Equatable {
        case idle
        case readingHead
        case readingBody
        case handling
        case closing
    }

    /// Which limit a connection ran into.
    enum Expiry: Equatable {
        case idle, head, body, closing
    }

    let limits: Limits
    private(set) var phase = Phase.idle
    private(set) var since: Instant
    /// Requests whose head was read and whose response has not ended.
    private var openRequests = 0

    init(limits: Limits, now: Instant) {
        self.limits = limits
        self.since = now
    }

    /// When the connection must be closed, if nothing happens before.
    var deadline: Instant? {
        switch phase {
        case .idle: since.advanced(by: limits.idle)
        case .readingHead: since.advanced(by: limits.head)
        case .readingBody: since.advanced(by: limits.body)
        case .handling: nil
        case .closing: since.advanced(by: limits.closing)
        }
    }

    /// The limit the connection has run into at `now`, if any.
    func expiry(at now: Instant) -> Expiry? {
        guard let deadline, now >= deadline else { return nil }
        switch phase {
        case .idle: return .idle
        case .readingHead: return .head
        case .readingBody: return .body
        case .closing: return .closing
        case .handling: return nil
        }
    }

    /// Bytes arrived from the client. On an idle connection they start a request head.
    mutating func bytesArrived(at now: Instant) {
        if phase == .idle { enter(.readingHead, at: now) }
    }

    /// A request head was parsed; its body (possibly empty) follows.
    mutating func headReceived(at now: Instant) {
        openRequests += 1
        if phase != .closing { enter(.readingBody, at: now) }
    }

    /// The request was read completely.
    mutating func requestEnded(at now: Instant) {
        if phase == .readingBody { enter(openRequests > 0 ? .handling : .idle, at: now) }
    }

    /// What the handler must do once a response has ended.
    enum AfterResponse: Equatable {
        case keepOpen
        /// Close the server's side: the request's body was never read to its end, or the
        /// response said `Connection: close`.
        case closeOutput
    }

    /// A response ended; `closeRequested` when it carried `Connection: close`.
    mutating func responseEnded(at now: Instant, closeRequested: Bool) -> AfterResponse {
        // The body still being read belongs to this response's request only when no other
        // request is open (a pipelined next request may be the one being read).
        let bodyUnread = phase == .readingBody && openRequests == 1
        openRequests = max(0, openRequests - 1)
        if phase == .closing { return .keepOpen }
        if closeRequested || bodyUnread {
            enter(.closing, at: now)
            return .closeOutput
        }
        if phase == .handling, openRequests == 0 { enter(.idle, at: now) }
        return .keepOpen
    }

    /// The server closed its side of the connection.
    mutating func outputClosed(at now: Instant) {
        if phase != .closing { enter(.closing, at: now) }
    }

    /// True when a graceful shutdown may close the connection at once: no request is being
    /// handled (one still being sent can be sent again elsewhere).
    var canCloseForShutdown: Bool { phase != .handling }

    private mutating func enter(_ next: Phase, at now: Instant) {
        phase = next
        since = now
    }
}
