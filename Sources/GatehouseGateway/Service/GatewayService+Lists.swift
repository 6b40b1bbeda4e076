import GatehouseCore
import GatehouseMCP

extension GatewayService {
    /// What one list method returns and how its items are named.
    struct ListKind: Sendable {
        /// The member of the result holding the items.
        let member: String
        /// The member of an item that must be rewritten, and whether it is a name or a URI.
        let field: String
        let isName: Bool
        /// True for tools, whose per-tool rules apply.
        let isTool: Bool

        static func of(_ method: String) -> ListKind? {
            switch method {
            case "tools/list": ListKind(member: "tools", field: "name", isName: true, isTool: true)
            case "prompts/list": ListKind(member: "prompts", field: "name", isName: true, isTool: false)
            case "resources/list": ListKind(member: "resources", field: "uri", isName: false, isTool: false)
            case "resources/templates/list": ListKind(member: "resourceTemplates", field: "uriTemplate", isName: false, isTool: false)
            default: nil
            }
        }
    }

    /// Most pages read from one upstream for one list.
    static let maxPages = 50

    /// A list joined from every upstream the caller may use and that is not down. An upstream
    /// that fails is left out (and logged), so one dead server does not break the list.
    func list(_ request: JSONRPCRequest, in environment: MCPRequestEnvironment) async -> JSONRPCResponse {
        guard let kind = ListKind.of(request.method) else { return JSONRPCResponse(id: request.id, error: .methodNotFound(request.method)) }
        if let cursor = request.params["cursor"], cursor != .null {
            // Everything fits in the first page, so no cursor was ever issued.
            return JSONRPCResponse(id: request.id, error: .invalidParams("unknown cursor \(cursor)"))
        }
        let visible = order.compactMap { name in
            upstreams[name].flatMap { $0.spec.decide(tool: nil, for: environment.principal) == .allowed ? $0 : nil }
        }
        let lists = await withTaskGroup(of: (String, [JSONValue]).self) { group in
            for upstream in visible {
                group.addTask { (upstream.spec.name, await self.items(of: kind, method: request.method, from: upstream, in: environment)) }
            }
            var lists: [String: [JSONValue]] = [:]
            for await (name, items) in group { lists[name] = items }
            return lists
        }
        var joined: [JSONValue] = []
        for upstream in visible {
            for item in lists[upstream.spec.name] ?? [] {
                if let exposed = expose(item, of: upstream, kind: kind, principal: environment.principal) { joined.append(exposed) }
            }
        }
        if kind.isTool { knownTools.insert(joined.compactMap { $0.objectValue?["name"]?.stringValue }) }
        return response(
            to: request, reply: .result(.object([kind.member: .array(joined)])), version: environment.protocolVersion, isList: true)
    }

    /// Every item of every page `upstream` lists; none when it fails or lacks the method.
    private func items(of kind: ListKind, method: String, from upstream: Upstream, in environment: MCPRequestEnvironment) async -> [JSONValue] {
        var items: [JSONValue] = []
        var cursor: JSONValue?
        for _ in 0..<Self.maxPages {
            let params: [String: JSONValue] = cursor.map { ["cursor": $0] } ?? [:]
            let reply: UpstreamReply
            do {
                reply = try await upstream.send(
                    UpstreamRequest(method: method, params: params, caller: Caller(environment)), key: Self.channelKey(environment),
                    clientCapabilities: environment.clientCapabilities, relay: .none)
            } catch {
                environment.logger.warning(
                    "upstream left out of the list", metadata: ["upstream": "\(upstream.spec.name)", "method": "\(method)", "reason": "\(error)"])
                return items
            }
            guard case .result(.object(let result)) = reply else { return items }  // e.g. -32601: it serves no such list
            items += result[kind.member]?.arrayValue ?? []
            cursor = result["nextCursor"]
            if cursor == nil || cursor == .null { break }
        }
        return items
    }

    /// The item as the client sees it, or `nil` when the caller may not use it or its name
    /// cannot be shown.
    private func expose(_ item: JSONValue, of upstream: Upstream, kind: ListKind, principal: Principal) -> JSONValue? {
        guard case .object(var fields) = item, case .string(let original)? = fields[kind.field] else { return nil }
        let name = upstream.spec.name
        if kind.isTool, upstream.spec.decide(tool: original, for: principal) != .allowed { return nil }
        let exposed: String?
        if kind.isName {
            exposed = namespace.exposedName(original, of: name)
        } else {
            exposed = namespace.exposedURI(original, of: name)
        }
        guard let exposed else { return nil }
        fields[kind.field] = .string(exposed)
        return .object(fields)
    }
}
