import Foundation
import GatehouseCore
import HTTPTypes
import Logging

/// MCP over Streamable HTTP for every protocol revision, as a function from request to response.
///
/// A request is *stateless* (2026-07-28) when its `MCP-Protocol-Version` header names a
/// revision that is not session-era, or when it has no such header but its body
/// carries the 2026 `_meta` envelope (so it gets a precise -32020 instead of a
/// session error). Everything else is *session-era* (2024-11-05 … 2025-11-25): it
/// starts with `initialize`, which opens an `Mcp-Session-Id` session.
///
/// The endpoint has no socket: the HTTP server reads the body within its size limit,
/// authenticates the caller, and calls ``respond(to:logger:)``.
public struct StreamableHTTPEndpoint: Sendable {
    public let service: any MCPService
    public let sessions: SessionStore
    /// Requests sent to clients on event streams, waiting for the responses they POST back.
    let clientRequests = PendingClientRequests()
    /// Session requests answered on event streams, which the client may cancel.
    let cancellable = CancellableRequests()

    public init(service: any MCPService, sessions: SessionStore) {
        self.service = service
        self.sessions = sessions
    }

    public func respond(to request: MCPHTTPRequest, logger: Logger) async -> MCPHTTPResponse {
        let versionHeader = MCPHeaderValue.lookup(.mcpProtocolVersion, in: request.headerFields)
        let headerNamesStatelessRevision: Bool
        if case .value(let raw) = versionHeader {
            headerNamesStatelessRevision = !ProtocolVersion(rawValue: raw).isSessionEra
        } else {
            headerNamesStatelessRevision = versionHeader == .repeated
        }
        switch request.method {
        case .post:
            return await post(request, versionHeader: versionHeader, stateless: headerNamesStatelessRevision, logger: logger)
        case .get where headerNamesStatelessRevision, .delete where headerNamesStatelessRevision:
            // Streamable HTTP (2026-07-28, "Backwards compatibility"): GET and DELETE SHOULD get 405.
            return .methodNotAllowed(allow: "POST", "protocol version 2026-07-28 has no GET stream and no sessions")
        case .get:
            // Streamable HTTP (2025-11-25, "Listening for Messages from the Server"): the server
            // MUST either return an SSE stream or 405. Gatehouse sends nothing unsolicited.
            return .methodNotAllowed(allow: "POST, DELETE", "this server does not offer a server-to-client stream")
        case .delete:
            return await deleteSession(request.headerFields, principal: request.principal)
        default:
            return .methodNotAllowed(allow: "GET, POST, DELETE", "the MCP endpoint accepts POST, GET and DELETE")
        }
    }

    // MARK: - POST

    private func post(
        _ request: MCPHTTPRequest, versionHeader: MCPHeaderValue.Lookup, stateless: Bool, logger: Logger
    ) async -> MCPHTTPResponse {
        let accept = AcceptHeader(request.headerFields)
        guard accept.allowsEither else {
            return .failure(
                .notAcceptable,
                .invalidRequest("the Accept header must allow application/json and text/event-stream"))
        }
        if let contentType = request.headerFields[.contentType], !Self.isJSON(contentType) {
            return .failure(.unsupportedMediaType, .invalidRequest("Content-Type must be application/json"))
        }
        let body: JSONValue
        do {
            body = try JSONBody.decode(request.body)
        } catch {
            return .failure(.badRequest, error)
        }
        let format = Format(response: accept.allowsJSON ? .json : .eventStream, canStream: accept.allowsEventStream)
        if stateless || (versionHeader == .missing && Self.carriesStatelessEnvelope(body)) {
            return await statelessPost(body, request, format: format, logger: logger)
        }
        var version: ProtocolVersion?
        if case .value(let raw) = versionHeader { version = ProtocolVersion(rawValue: raw) }
        if versionHeader == .missing, request.headerFields[.mcpSessionID] == nil, let oneOff = try? JSONRPCMessage(body),
            Self.isOneOff(oneOff)
        {
            return await oneOffPost(oneOff, request, format: format, logger: logger)
        }
        return await sessionPost(body, request, headerVersion: version, format: format, logger: logger)
    }

    /// How the client lets the endpoint answer: the framing of a single response, and whether an
    /// event stream (notifications before the response) is acceptable.
    private struct Format {
        var response: ResponseFormat
        var canStream: Bool
    }

    /// Answers `rpc` in `environment`; when the service may message the client and the client
    /// accepts an event stream, messages may precede the response (``NotifyingExchange``).
    private func answer(
        _ rpc: JSONRPCRequest, in environment: MCPRequestEnvironment, format: Format,
        status: @escaping @Sendable (JSONRPCResponse) -> HTTPResponse.Status = { _ in .ok }
    ) async -> MCPHTTPResponse {
        guard format.canStream, service.mayMessageClient(while: rpc) else {
            let response = await service.handle(rpc, in: environment)
            return .answer(response, format: format.response, status: status(response))
        }
        let service = self.service
        let pending = environment.sessionID == nil ? nil : clientRequests
        let cancellable = self.cancellable
        let handle = environment.sessionID.map { cancellable.register(rpc.id, session: $0) }
        let outcome = await NotifyingExchange.run { cancel in handle?.attach(cancel) } _: { notify in
            defer { if let session = environment.sessionID { cancellable.finished(rpc.id, session: session) } }
            var streaming = environment
            streaming.client = ClientChannel(send: notify, pending: pending, sessionID: environment.sessionID)
            streaming.progress = ProgressReporter.token(of: rpc.params).map { ProgressReporter(token: $0, send: notify) }
            return await service.handle(rpc, in: streaming)
        }
        switch outcome {
        case .response(let response): return .answer(response, format: format.response, status: status(response))
        case .stream(let events): return .eventStream(events)
        }
    }

    private func statelessPost(
        _ body: JSONValue, _ request: MCPHTTPRequest, format: Format, logger: Logger
    ) async -> MCPHTTPResponse {
        if case .array = body {
            return .failure(.badRequest, .invalidRequest("the body must be a single JSON-RPC request or notification object"))
        }
        let message: JSONRPCMessage
        do {
            message = try JSONRPCMessage(body)
        } catch {
            return .failure(.badRequest, error)
        }
        switch message {
        case .response:
            // Streamable HTTP (2026-07-28, "Sending Messages to the Server"): the client MUST NOT send responses.
            return .failure(.badRequest, .invalidRequest("a stateless server sends no requests, so it takes no responses"))
        case .notification:
            return .accepted
        case .request(let rpc):
            let version: ProtocolVersion
            do {
                version = try StatelessRequestValidator.validate(rpc, headers: request.headerFields)
            } catch {
                return .failure(.badRequest, error, id: rpc.id)
            }
            let environment = Self.environment(
                of: request, version: version, sessionID: nil, logger: logger,
                clientCapabilities: rpc.params["_meta"]?.objectValue?[StatelessRequestValidator.clientCapabilitiesKey] ?? [:])
            return await answer(rpc, in: environment, format: format) { Self.statelessStatus(for: $0.error) }
        }
    }

    /// Whether `message` is a request other than `initialize`: sent with neither a session id nor a
    /// protocol version, it is answered as a one-off (see ``oneOffPost(_:_:format:logger:)``).
    private static func isOneOff(_ message: JSONRPCMessage) -> Bool {
        guard case .request(let rpc) = message else { return false }
        return rpc.method != "initialize"
    }

    /// A request that names no session and no protocol version, and is not `initialize` (the plain
    /// `curl -d '{"jsonrpc":"2.0","method":"tools/list","id":1}'` of the guides): answered once,
    /// without a session, as protocol 2025-03-26 (Streamable HTTP 2025-06-18, "Protocol Version
    /// Header": without the header the server SHOULD assume 2025-03-26). The session rules are
    /// untouched for clients that speak sessions: they send the version header after `initialize`,
    /// and a request with that header but no session id is still refused with 400.
    private func oneOffPost(_ message: JSONRPCMessage, _ request: MCPHTTPRequest, format: Format, logger: Logger) async -> MCPHTTPResponse {
        guard case .request(let rpc) = message else { return .accepted }
        return await answer(rpc, in: Self.environment(of: request, version: .v2025_03_26, sessionID: nil, logger: logger), format: format)
    }

    private func sessionPost(
        _ body: JSONValue, _ request: MCPHTTPRequest, headerVersion: ProtocolVersion?, format: Format,
        logger: Logger
    ) async -> MCPHTTPResponse {
        if case .array(let batch) = body {
            return await inSession(request, headerVersion: headerVersion, logger: logger) { environment in
                await self.batch(batch, format: format.response, environment: environment)
            }
        }
        let message: JSONRPCMessage
        do {
            message = try JSONRPCMessage(body)
        } catch {
            return .failure(.badRequest, error)
        }
        if case .request(let rpc) = message, rpc.method == "initialize" {
            return await initialize(rpc, owner: request.principal, format: format.response, logger: logger)
        }
        return await inSession(request, headerVersion: headerVersion, logger: logger) { environment in
            switch message {
            case .request(let rpc):
                return await self.answer(rpc, in: environment, format: format)
            case .response(let response):
                self.deliver(response, in: environment)
                return .accepted
            case .notification(let method, let params):
                if method == "notifications/cancelled", let session = environment.sessionID {
                    self.cancellable.cancel(params, session: session)
                }
                return .accepted
            }
        }
    }

    /// Runs `body` in the session the request names, or answers with the refusal of that session.
    private func inSession(
        _ request: MCPHTTPRequest, headerVersion: ProtocolVersion?, logger: Logger,
        _ body: (MCPRequestEnvironment) async -> MCPHTTPResponse
    ) async -> MCPHTTPResponse {
        switch await resolveSession(request.headerFields, headerVersion: headerVersion, principal: request.principal) {
        case .failure(let refusal):
            return refusal.response
        case .success(let session):
            return await body(
                Self.environment(
                    of: request, version: session.protocolVersion, sessionID: session.id, logger: logger,
                    clientCapabilities: session.clientCapabilities))
        }
    }

    /// Answers a JSON-RPC batch, which Streamable HTTP 2025-03-26 allows (support was removed in 2025-06-18).
    private func batch(_ items: [JSONValue], format: ResponseFormat, environment: MCPRequestEnvironment) async -> MCPHTTPResponse {
        guard environment.protocolVersion.allowsBatches else {
            return .failure(
                .badRequest,
                .invalidRequest("JSON-RPC batches are not part of protocol version \(environment.protocolVersion)"))
        }
        guard !items.isEmpty else { return .failure(.badRequest, .invalidRequest("the batch is empty")) }
        var responses: [JSONRPCResponse] = []
        for item in items {
            do {
                let message = try JSONRPCMessage(item)
                if case .request(let rpc) = message, rpc.method == "initialize" {
                    // Lifecycle (2025-03-26): the initialize request MUST NOT be part of a batch.
                    responses.append(JSONRPCResponse(id: rpc.id, error: .invalidRequest("initialize must not be batched")))
                } else if let response = await handle(message, environment: environment) {
                    responses.append(response)
                }
            } catch {
                responses.append(JSONRPCResponse(id: nil, error: error))
            }
        }
        guard !responses.isEmpty else { return .accepted }
        return .message(Self.encodeBatch(responses), format: format)
    }

    /// Answers one session-era message; `nil` means "accepted, no response body".
    private func handle(_ message: JSONRPCMessage, environment: MCPRequestEnvironment) async -> JSONRPCResponse? {
        switch message {
        case .response(let response):
            deliver(response, in: environment)
            return nil
        case .notification:
            return nil
        case .request(let rpc):
            return await service.handle(rpc, in: environment)
        }
    }

    private func initialize(_ rpc: JSONRPCRequest, owner: Principal, format: ResponseFormat, logger: Logger) async -> MCPHTTPResponse {
        guard case .string(let requested)? = rpc.params["protocolVersion"] else {
            let error = JSONRPCError.invalidParams("initialize needs params.protocolVersion, a string such as \"2025-11-25\"")
            return .message(JSONRPCResponse(id: rpc.id, error: error).encoded(), format: format)
        }
        let version = ProtocolVersion.negotiateInitialize(requested: requested)
        let session: SessionStore.Session
        do {
            session = try await sessions.create(
                protocolVersion: version, owner: SessionStore.Owner(owner), clientCapabilities: rpc.params["capabilities"] ?? [:])
        } catch {
            logger.error("cannot save a new MCP session", metadata: ["error": "\(error)"])
            return .failure(.serviceUnavailable, .internalError("the session cannot be stored right now; try again shortly"))
        }
        logger.debug("MCP session opened", metadata: ["mcp.protocol": "\(version)"])
        let response = JSONRPCResponse(id: rpc.id, result: service.initializeResult(version: version))
        var http = MCPHTTPResponse.message(response.encoded(), format: format)
        http.headerFields[.mcpSessionID] = session.id
        return http
    }

    /// Finds the session a session-era request names, or the response that refuses it.
    private func resolveSession(
        _ headers: HTTPFields, headerVersion: ProtocolVersion?, principal: Principal
    ) async -> Result<SessionStore.Session, MCPResponseError> {
        guard let id = headers[.mcpSessionID] else {
            // Streamable HTTP (2025-11-25, "Session Management" 2): servers that require a
            // session id SHOULD answer requests without one (other than initialize) with 400.
            return .failure(MCPResponseError(.failure(
                .badRequest, .invalidRequest("missing Mcp-Session-Id header; send initialize first to open a session"))))
        }
        // Security best practices (2025-06-18, "Session Hijacking"): a session is bound to the
        // user who opened it; another user's request is answered as if the session did not exist.
        guard let session = await sessions.touch(id, owner: SessionStore.Owner(principal)) else {
            // Streamable HTTP (2025-11-25, "Session Management" 3): a terminated session MUST get 404.
            return .failure(MCPResponseError(.failure(
                .notFound, .invalidRequest("session not found; it ended or expired, so send initialize again"))))
        }
        if let headerVersion, headerVersion != session.protocolVersion {
            // Streamable HTTP (2025-06-18, "Protocol Version Header"): an invalid or
            // unsupported MCP-Protocol-Version MUST get 400 Bad Request.
            return .failure(MCPResponseError(.failure(
                .badRequest,
                .invalidRequest(
                    "MCP-Protocol-Version \(headerVersion) differs from \(session.protocolVersion), "
                        + "the version this session negotiated"))))
        }
        return .success(session)
    }

    private func deleteSession(_ headers: HTTPFields, principal: Principal) async -> MCPHTTPResponse {
        guard let id = headers[.mcpSessionID] else {
            return .failure(.badRequest, .invalidRequest("DELETE needs the Mcp-Session-Id header of the session to end"))
        }
        guard await sessions.remove(id, owner: SessionStore.Owner(principal)) else {
            return .failure(.notFound, .invalidRequest("session not found; it already ended or expired"))
        }
        await service.sessionEnded(id)
        return MCPHTTPResponse(status: .noContent)
    }

    /// A response the client POSTed to a request the server sent it on an event stream.
    private func deliver(_ response: [String: JSONValue], in environment: MCPRequestEnvironment) {
        guard let session = environment.sessionID else { return }
        if !clientRequests.deliver(response, session: session) {
            environment.logger.debug("a client response matched no pending request")
        }
    }

    // MARK: - Helpers

    /// What a service learns of `request`: the caller (and the token it was verified from), under `version`.
    private static func environment(
        of request: MCPHTTPRequest, version: ProtocolVersion, sessionID: String?, logger: Logger,
        clientCapabilities: JSONValue = .object([:])
    ) -> MCPRequestEnvironment {
        var environment = MCPRequestEnvironment(
            protocolVersion: version, principal: request.principal, sessionID: sessionID, logger: logger,
            clientCapabilities: clientCapabilities)
        environment.callerToken = request.callerToken
        return environment
    }

    /// HTTP status of a stateless JSON-RPC error (Streamable HTTP 2026-07-28 and basic "Error Codes"):
    /// malformed requests and header mismatches are 400, an unknown method is 404.
    static func statelessStatus(for error: JSONRPCError?) -> HTTPResponse.Status {
        switch error?.code {
        case nil: .ok
        case JSONRPCError.methodNotFoundCode: .notFound
        case JSONRPCError.parseErrorCode, JSONRPCError.invalidRequestCode, JSONRPCError.invalidParamsCode,
            JSONRPCError.headerMismatchCode, JSONRPCError.missingRequiredClientCapabilityCode,
            JSONRPCError.unsupportedProtocolVersionCode:
            .badRequest
        default: .ok
        }
    }

    private static func carriesStatelessEnvelope(_ body: JSONValue) -> Bool {
        guard case .object(let params)? = body.objectValue?["params"], case .object(let meta)? = params["_meta"] else {
            return false
        }
        return meta[StatelessRequestValidator.protocolVersionKey] != nil
    }

    private static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.utf8.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false).first ?? Substring(contentType).utf8[...]
        return ASCII.equalsIgnoringCase(ASCII.trimmed(mediaType), "application/json")
    }

    private static func encodeBatch(_ responses: [JSONRPCResponse]) -> Data {
        var data = Data("[".utf8)
        for (index, response) in responses.enumerated() {
            if index > 0 { data.append(UInt8(ascii: ",")) }
            data.append(response.encoded())
        }
        data.append(UInt8(ascii: "]"))
        return data
    }
}

/// A refusal that is already an HTTP response.
struct MCPResponseError: Error {
    let response: MCPHTTPResponse
    init(_ response: MCPHTTPResponse) { self.response = response }
}
