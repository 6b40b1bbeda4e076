import GatehouseCore
import Logging

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

    public init(
        principal: Principal, protocolVersion: ProtocolVersion, sessionID: String?, requestID: RequestID,
        logger: Logger
    ) {
        self.principal = principal
        self.protocolVersion = protocolVersion
        self.sessionID = sessionID
        self.requestID = requestID
        self.logger = logger
    }
}
