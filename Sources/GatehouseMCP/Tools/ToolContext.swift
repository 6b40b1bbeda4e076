import GatehouseCore
import Logging
import MCP

/// What a tool handler knows about the request it serves.
public struct ToolContext: Sendable {
    /// The authenticated caller (``Principal/anonymous`` when the server has no verifier).
    public var principal: Principal
    /// The protocol revision of the request.
    public var protocolVersion: ProtocolVersion
    /// The session of a session-era request; `nil` for stateless requests.
    public var sessionID: String?
    /// The JSON-RPC id of the `tools/call` request.
    public var requestID: RequestID
    /// A logger carrying the request's metadata.
    public var logger: Logger
    /// The capabilities the client declared (`initialize`, or a stateless request's `_meta`).
    public var clientCapabilities: JSONValue
    /// Where progress goes, when the client asked for it.
    let progress: ProgressReporter?

    public init(
        principal: Principal, protocolVersion: ProtocolVersion, sessionID: String?, requestID: RequestID,
        logger: Logger, clientCapabilities: JSONValue = .object([:]), progress: ProgressReporter? = nil
    ) {
        self.principal = principal
        self.protocolVersion = protocolVersion
        self.sessionID = sessionID
        self.requestID = requestID
        self.logger = logger
        self.clientCapabilities = clientCapabilities
        self.progress = progress
    }

    /// Tells the client how far the tool has got: `progress` grows with each call, out of
    /// `total` when known. The client receives it before the result (the answer becomes an event
    /// stream) when it sent a `progressToken` and accepts `text/event-stream`; otherwise nothing
    /// is sent.
    public func reportProgress(_ progress: Double, total: Double? = nil, message: String? = nil) {
        self.progress?.report(progress, total: total, message: message)
    }
}
