import GatehouseCore
import MCP
import Logging

/// The request an ``MCPMethodHandler`` answers, with what the transport established about it.
public struct MCPRequestEnvironment: Sendable {
    /// The protocol revision the request is served under.
    public var protocolVersion: ProtocolVersion
    public var principal: Principal
    /// The session of a session-era request.
    public var sessionID: String?
    public var logger: Logger
    /// Sends progress for this request, when its client asked for progress and can receive it.
    public var progress: ProgressReporter?
    /// Messages to the client before the response, when the service may send them and the client
    /// accepts an event stream (``MCPService/mayMessageClient(while:)``).
    public var client: ClientChannel?
    /// What the client declared it can do: from `initialize` on a session, from the request's
    /// `_meta` when stateless; an empty object when it declared nothing.
    public var clientCapabilities: JSONValue
    /// The caller's bearer token (``MCPHTTPRequest/callerToken``): only for exchanging it at its
    /// issuer, never to be logged or forwarded.
    public var callerToken: String?

    public init(
        protocolVersion: ProtocolVersion, principal: Principal, sessionID: String?, logger: Logger, progress: ProgressReporter? = nil,
        client: ClientChannel? = nil, clientCapabilities: JSONValue = .object([:])
    ) {
        self.protocolVersion = protocolVersion
        self.principal = principal
        self.sessionID = sessionID
        self.logger = logger
        self.progress = progress
        self.client = client
        self.clientCapabilities = clientCapabilities
    }
}

/// Answers MCP methods: `initialize`, `server/discover`, `ping`, `tools/list` and `tools/call`.
///
/// It knows nothing of HTTP or sessions; the transport decides the protocol revision
/// and hands each request over with an ``MCPRequestEnvironment``. Results take the
/// shape of that revision (stateless results carry `resultType`, cache hints and
/// `serverInfo` in `_meta`).
public struct MCPMethodHandler: MCPService {
    public let serverInfo: MCPServerInfo
    /// The tools every caller has (subject to their scopes).
    public let tools: ToolRegistry
    /// Tools that depend on the caller, listed after the fixed ones.
    public let toolSource: (any ToolSource)?

    /// The server capabilities: tools only. Resources and prompts are not served, so
    /// they are not declared (lifecycle "Capability Negotiation").
    static let capabilities: JSONValue = ["tools": ["listChanged": false]]

    public init(serverInfo: MCPServerInfo, tools: ToolRegistry, toolSource: (any ToolSource)? = nil) {
        self.serverInfo = serverInfo
        self.tools = tools
        self.toolSource = toolSource
    }

    /// The result of an `initialize` that negotiated `version`.
    public func initializeResult(version: ProtocolVersion) -> any JSONRPCResult {
        let body = InitializeBody(
            protocolVersion: version.rawValue, capabilities: Self.capabilities, serverInfo: serverInfo,
            instructions: serverInfo.instructions)
        return MethodResult(body: body, stateless: nil)
    }

    /// Answers one request. Failures are returned as JSON-RPC errors, never thrown.
    public func handle(_ request: JSONRPCRequest, in environment: MCPRequestEnvironment) async -> JSONRPCResponse {
        let isStateless = !environment.protocolVersion.isSessionEra
        let stateless = isStateless ? StatelessResultFields(serverInfo: serverInfo) : nil
        switch (request.method, isStateless) {
        case ("ping", false):
            return JSONRPCResponse(id: request.id, result: MethodResult(body: EmptyBody(), stateless: nil))
        case ("server/discover", true):
            let body = DiscoverBody(
                supportedVersions: ProtocolVersion.stateless.map(\.rawValue), capabilities: Self.capabilities,
                instructions: serverInfo.instructions)
            return JSONRPCResponse(id: request.id, result: MethodResult(body: body, stateless: stateless?.cacheable()))
        case ("tools/list", _):
            if let cursor = request.params["cursor"], cursor != .null {
                // Everything fits in the first page, so no cursor was ever issued.
                return JSONRPCResponse(id: request.id, error: .invalidParams("unknown cursor \(cursor)"))
            }
            var visible = tools.entries.filter { $0.tool.isAvailable(to: environment.principal) }
            if let toolSource {
                do {
                    let own = try await toolSource.tools(for: environment.principal)
                    visible += own.entries.filter { $0.tool.isAvailable(to: environment.principal) && tools.tool(named: $0.tool.name) == nil }
                } catch {
                    return JSONRPCResponse(id: request.id, error: Self.toolSourceFailure(error, environment))
                }
            }
            let body = ToolsListBody(descriptors: visible.map(\.descriptorJSON))
            return JSONRPCResponse(id: request.id, result: MethodResult(body: body, stateless: stateless?.cacheable()))
        case ("tools/call", _):
            let started = ContinuousClock.now
            let (tool, outcome) = await callTool(request.params, id: request.id, in: environment)
            ToolCallTelemetry.record(
                tool: tool, outcome: Self.outcomeLabel(outcome), principal: environment.principal, duration: started.elapsed,
                params: request.params)
            switch outcome {
            case .success(let result):
                return JSONRPCResponse(
                    id: request.id, result: MethodResult(body: CallToolBody(result: result), stateless: stateless))
            case .failure(let failure):
                if let elicitation = failure.inputRequired, stateless != nil {
                    return JSONRPCResponse(id: request.id, result: MethodResult(body: InputRequiredBody(elicitation: elicitation), stateless: stateless))
                }
                var response = JSONRPCResponse(id: request.id, error: failure.error)
                response.insufficientScopes = failure.neededScopes
                return response
            }
        default:
            return JSONRPCResponse(id: request.id, error: .methodNotFound(request.method))
        }
    }

    /// The error when the caller's own tools cannot be read (the store is down).
    private static func toolSourceFailure(_ error: any Error, _ environment: MCPRequestEnvironment) -> JSONRPCError {
        environment.logger.error("cannot load the caller's tools", metadata: ["error": "\(error)"])
        return JSONRPCError(code: JSONRPCError.internalErrorCode, message: "Your tools cannot be loaded right now; try again.")
    }

    /// A call's outcome for metrics and the audit log: `ok`, `error` (the tool reported one),
    /// `insufficient_scope` or `refused` (a JSON-RPC error: unknown tool, bad arguments).
    private static func outcomeLabel(_ outcome: Result<ToolResult, CallFailure>) -> String {
        switch outcome {
        case .success(let result): result.isError ? "error" : "ok"
        case .failure(let failure) where failure.inputRequired != nil: "input_required"
        case .failure(let failure): failure.neededScopes == nil ? "refused" : "insufficient_scope"
        }
    }

    /// Why a `tools/call` did not run: a JSON-RPC error, and the scopes needed when that is the reason.
    private struct CallFailure: Error {
        var error: JSONRPCError
        var neededScopes: [String]?
        /// The user must visit a URL first: -32042 in a session, `input_required` when stateless.
        var inputRequired: URLElicitationRequired?
    }

    private func callTool(
        _ params: [String: JSONValue], id: RequestID, in environment: MCPRequestEnvironment
    ) async -> (tool: String?, outcome: Result<ToolResult, CallFailure>) {
        guard case .string(let name)? = params["name"] else {
            return (nil, .failure(CallFailure(error: .invalidParams("tools/call needs \"name\", the name of a tool from tools/list"))))
        }
        let arguments: [String: JSONValue]
        switch params["arguments"] {
        case nil, .null?: arguments = [:]
        case .object(let value)?: arguments = value
        default: return (nil, .failure(CallFailure(error: .invalidParams("\"arguments\" must be an object"))))
        }
        var found = tools.tool(named: name)
        if found == nil, let toolSource {
            do {
                found = try await toolSource.tool(named: name, for: environment.principal)
            } catch {
                return (nil, .failure(CallFailure(error: Self.toolSourceFailure(error, environment))))
            }
        }
        // tools "Error Handling": an unknown tool is a protocol error (-32602). Another
        // user's tool is unknown to this caller.
        guard let tool = found else {
            let error = JSONRPCError(
                code: JSONRPCError.invalidParamsCode, message: "Unknown tool: \(name)", data: .object(["tool": .string(name)]))
            return (nil, .failure(CallFailure(error: error)))
        }
        // MCP authorization (2025-11-25, "Scope Challenge Handling"): a request that lacks
        // scopes gets 403 with an insufficient_scope challenge naming the scopes needed.
        guard tool.isAvailable(to: environment.principal) else {
            let needed = tool.requiredScopes.union(environment.principal.scopes).sorted()
            let error = JSONRPCError(
                code: JSONRPCError.invalidRequestCode,
                message: "Insufficient scope: tool \(name) needs \(tool.requiredScopes.sorted().joined(separator: " "))")
            return (tool.name, .failure(CallFailure(error: error, neededScopes: needed)))
        }
        let violations = tool.argumentValidator.validate(.object(arguments))
        if !violations.isEmpty {
            let detail = violations.map(\.description).joined(separator: "; ")
            if environment.protocolVersion.reportsInputErrorsAsToolResults {
                return (tool.name, .success(.error("Invalid arguments for tool \(name): \(detail)")))
            }
            return (tool.name, .failure(CallFailure(error: .invalidParams("invalid arguments for tool \(name): \(detail)"))))
        }
        let context = ToolContext(
            principal: environment.principal, protocolVersion: environment.protocolVersion,
            sessionID: environment.sessionID, requestID: id, logger: environment.logger,
            clientCapabilities: environment.clientCapabilities, progress: environment.progress)
        do {
            return (tool.name, .success(try await tool.handler(ToolArguments(arguments), context)))
        } catch let error as ToolError {
            return (tool.name, .success(.error(error.message)))
        } catch let elicitation as URLElicitationRequired {
            // Elicitation (2025-11-25): only a client that declared URL mode may be asked. On
            // 2026-07-28 the answer to a retry that declined says so rather than asking again.
            guard URLElicitationRequired.isSupported(by: environment.clientCapabilities),
                !URLElicitationRequired.wasDeclined(in: params["inputResponses"])
            else { return (tool.name, .success(elicitation.toolResult)) }
            return (tool.name, .failure(CallFailure(error: elicitation.error, inputRequired: elicitation)))
        } catch is any StoreUnavailable {
            environment.logger.warning("tool failed: the store is unavailable", metadata: ["tool": "\(name)"])
            return (tool.name, .success(.error("Tool \(name) cannot reach the server's store right now; try again in a few seconds.")))
        } catch {
            environment.logger.error("tool failed", metadata: ["tool": "\(name)", "error": "\(error)"])
            return (tool.name, .success(.error("Tool \(name) failed with an internal error.")))
        }
    }
}

extension StatelessResultFields {
    /// The fields with the cache hint list results carry: `ttlMs: 0` (always revalidate)
    /// and `private` scope, because the tools a caller sees may depend on who calls.
    func cacheable() -> StatelessResultFields {
        var fields = self
        fields.cacheHint = CacheHint(ttlMs: 0, scope: "private")
        return fields
    }
}
