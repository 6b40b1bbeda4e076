import GatehouseCore
import GatehouseMCP

extension GatewayService {
    /// `tools/call` and `prompts/get`: the name says which upstream; policy decides first.
    func callNamed(_ request: JSONRPCRequest, in environment: MCPRequestEnvironment) async -> JSONRPCResponse {
        let isTool = request.method == "tools/call"
        let kind = isTool ? "tool" : "prompt"
        guard case .string(let name)? = request.params["name"] else {
            return JSONRPCResponse(id: request.id, error: .invalidParams("\(request.method) needs \"name\", a name from the list"))
        }
        // tools "Error Handling": an unknown tool is a protocol error (-32602). A tool the caller
        // may not use is unknown to them.
        let unknown = JSONRPCError(code: JSONRPCError.invalidParamsCode, message: "Unknown \(kind): \(name)", data: ["name": .string(name)])
        guard let (upstreamName, original) = namespace.resolveName(name), let upstream = upstreams[upstreamName] else {
            return JSONRPCResponse(id: request.id, error: unknown)
        }
        switch upstream.spec.decide(tool: isTool ? original : nil, for: environment.principal) {
        case .refused:
            return JSONRPCResponse(id: request.id, error: unknown)
        case .needsScopes(let needed):
            return Self.insufficientScope(request, what: "\(kind) \(name)", needed: needed)
        case .allowed:
            break
        }
        var params = request.params
        params["name"] = .string(original)
        return await forward(request, params: params, to: upstream, in: environment) { failure in
            // A tool that could not run is a tool error the model can read, not a protocol error.
            isTool ? .result(["content": [["type": "text", "text": .string(failure)]], "isError": true]) : nil
        }
    }

    /// The name a `tools/call` is recorded under: the tool's, when an upstream listed it or it
    /// just ran without error; else `nil` (`unknown`), so made-up names never become labels.
    func toolLabel(_ request: JSONRPCRequest, outcome: String) -> String? {
        guard case .string(let name)? = request.params["name"] else { return nil }
        if outcome == "ok" { knownTools.insert([name]) }
        return knownTools.contains(name) ? name : nil
    }

    /// A forwarded call's outcome: `ok`, `error` (the tool reported one), `insufficient_scope`
    /// or `refused` (a JSON-RPC error).
    static func outcomeLabel(_ response: JSONRPCResponse) -> String {
        switch response.outcome {
        case .error: return response.insufficientScopes == nil ? "refused" : "insufficient_scope"
        case .result(let result): return result.reportsToolError ? "error" : "ok"
        }
    }

    /// `resources/read`: the URI says which upstream; the answer's URIs are rewritten back.
    func readResource(_ request: JSONRPCRequest, in environment: MCPRequestEnvironment) async -> JSONRPCResponse {
        guard case .string(let uri)? = request.params["uri"] else {
            return JSONRPCResponse(id: request.id, error: .invalidParams("resources/read needs \"uri\", a URI from resources/list"))
        }
        // resources "Error Handling": an unknown resource is -32002.
        let unknown = JSONRPCError(code: -32002, message: "Resource not found", data: ["uri": .string(uri)])
        guard let (upstreamName, original) = namespace.resolveURI(uri), let upstream = upstreams[upstreamName] else {
            return JSONRPCResponse(id: request.id, error: unknown)
        }
        switch upstream.spec.decide(tool: nil, for: environment.principal) {
        case .refused: return JSONRPCResponse(id: request.id, error: unknown)
        case .needsScopes(let needed): return Self.insufficientScope(request, what: uri, needed: needed)
        case .allowed: break
        }
        var params = request.params
        params["uri"] = .string(original)
        return await forward(request, params: params, to: upstream, in: environment, rewrite: { result in
            self.rewritingURIs(in: result, key: "contents", of: upstreamName)
        }, onFailure: { _ in nil })
    }

    /// `completion/complete`: the reference (a prompt name or a resource template URI) says
    /// which upstream; it gets its own name for it.
    func complete(_ request: JSONRPCRequest, in environment: MCPRequestEnvironment) async -> JSONRPCResponse {
        guard case .object(var reference)? = request.params["ref"], case .string(let type)? = reference["type"] else {
            return JSONRPCResponse(id: request.id, error: .invalidParams("completion/complete needs \"ref\", a ref/prompt or ref/resource"))
        }
        let field = type == "ref/prompt" ? "name" : "uri"
        let target: (upstream: String, original: String)?
        switch (type, reference[field]) {
        case ("ref/prompt", .string(let name)?): target = namespace.resolveName(name)
        case ("ref/resource", .string(let uri)?): target = namespace.resolveURI(uri)
        default: target = nil
        }
        guard let (upstreamName, original) = target, let upstream = upstreams[upstreamName],
            upstream.spec.decide(tool: nil, for: environment.principal) == .allowed
        else {
            return JSONRPCResponse(id: request.id, error: .invalidParams("unknown \(type) in completion/complete"))
        }
        reference[field] = .string(original)
        var params = request.params
        params["ref"] = .object(reference)
        return await forward(request, params: params, to: upstream, in: environment) { _ in nil }
    }

    /// MCP authorization (2025-11-25, "Scope Challenge Handling"): the transport answers 403
    /// `insufficient_scope` naming every scope needed, so the client can step up.
    static func insufficientScope(_ request: JSONRPCRequest, what: String, needed: [String]) -> JSONRPCResponse {
        var response = JSONRPCResponse(
            id: request.id,
            error: JSONRPCError(code: JSONRPCError.invalidRequestCode, message: "Insufficient scope: \(what) needs \(needed.joined(separator: " "))"))
        response.insufficientScopes = needed
        return response
    }

    /// Sends one request upstream and turns the answer into the client's response.
    func forward(
        _ request: JSONRPCRequest, params: [String: JSONValue], to upstream: Upstream, in environment: MCPRequestEnvironment,
        rewrite: @Sendable (JSONValue) -> JSONValue = { $0 },
        onFailure: (String) -> UpstreamReply?
    ) async -> JSONRPCResponse {
        let spec = upstream.spec
        let relay = UpstreamRelay(client: environment.client, timeout: max(spec.timeout, .seconds(300)))
        do {
            let reply = try await upstream.send(
                UpstreamRequest(method: request.method, params: params, caller: Caller(environment)),
                key: Self.channelKey(environment), clientCapabilities: environment.clientCapabilities, relay: relay)
            return response(to: request, reply: reply, version: environment.protocolVersion, rewrite: rewrite)
        } catch {
            let message = "The upstream server \"\(spec.name)\" did not answer \(request.method): \(error)"
            environment.logger.warning("upstream request failed", metadata: ["upstream": "\(spec.name)", "method": "\(request.method)", "reason": "\(error)"])
            if let reply = onFailure(message) {
                return response(to: request, reply: reply, version: environment.protocolVersion)
            }
            return JSONRPCResponse(
                id: request.id,
                error: JSONRPCError(code: JSONRPCError.internalErrorCode, message: message, data: ["upstream": .string(spec.name)]))
        }
    }

    func response(
        to request: JSONRPCRequest, reply: UpstreamReply, version: ProtocolVersion, isList: Bool = false,
        rewrite: (JSONValue) -> JSONValue = { $0 }
    ) -> JSONRPCResponse {
        switch reply {
        case .result(let result):
            return JSONRPCResponse(
                id: request.id,
                result: ServiceResults.forwarded(rewrite(result), version: version, serverInfo: serverInfo, isList: isList))
        case .error(let error):
            let object = error.objectValue ?? [:]
            let code: Int = switch object["code"] {
            case .int(let value)?: value
            case .double(let value)?: Int(value)
            default: JSONRPCError.internalErrorCode
            }
            return JSONRPCResponse(
                id: request.id,
                error: JSONRPCError(code: code, message: object["message"]?.stringValue ?? "the upstream failed", data: object["data"]))
        }
    }

    /// Which upstream session serves the request: the downstream session's own, or the caller's.
    static func channelKey(_ environment: MCPRequestEnvironment) -> Upstream.ChannelKey {
        if let session = environment.sessionID { return .session(session) }
        return .caller(issuer: environment.principal.issuer, subject: environment.principal.subject)
    }

    /// `result[key]` items with their `uri` made the exposed one.
    func rewritingURIs(in result: JSONValue, key: String, of upstream: String) -> JSONValue {
        guard case .object(var object) = result, case .array(let items)? = object[key] else { return result }
        object[key] = .array(items.map { item in
            guard case .object(var fields) = item, case .string(let uri)? = fields["uri"] else { return item }
            fields["uri"] = namespace.exposedURI(uri, of: upstream).map(JSONValue.string) ?? .string(uri)
            return .object(fields)
        })
        return .object(object)
    }
}
