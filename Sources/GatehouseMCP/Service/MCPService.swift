import GatehouseCore

/// What answers MCP methods behind a ``StreamableHTTPEndpoint``: the hub's ``MCPMethodHandler``,
/// or a gateway that forwards to upstream servers.
///
/// The endpoint owns the transport (framing, sessions, protocol-version headers); a service
/// sees one JSON-RPC request at a time with what the transport established about it.
public protocol MCPService: Sendable {
    /// The result of an `initialize` that negotiated `version`.
    func initializeResult(version: ProtocolVersion) -> any JSONRPCResult

    /// Answers one request. Failures are returned as JSON-RPC errors, never thrown.
    func handle(_ request: JSONRPCRequest, in environment: MCPRequestEnvironment) async -> JSONRPCResponse

    /// Whether answering `request` may send messages to the client before its response (progress,
    /// logs, requests such as `elicitation/create`). When true and the client accepts an event
    /// stream, the environment carries a ``ClientChannel``.
    func mayMessageClient(while request: JSONRPCRequest) -> Bool

    /// Session `id` ended: the client deleted it. (Sessions that expire are not reported; a
    /// service that keeps per-session state bounds it on its own.)
    func sessionEnded(_ id: String) async
}

extension MCPService {
    public func mayMessageClient(while request: JSONRPCRequest) -> Bool {
        ProgressReporter.token(of: request.params) != nil
    }

    public func sessionEnded(_ id: String) async {}
}
