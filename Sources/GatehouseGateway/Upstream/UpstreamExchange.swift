import GatehouseCore
import GatehouseMCP

/// One request to an upstream: the method and parameters as the upstream should see them,
/// and who the caller is (for the upstream identity).
struct UpstreamRequest: Sendable {
    var method: String
    var params: [String: JSONValue]
    var caller: Caller

    /// The parameter some methods are named by in the `Mcp-Name` header (2026-07-28).
    var name: String? {
        switch method {
        case "tools/call", "prompts/get": params["name"]?.stringValue
        case "resources/read": params["uri"]?.stringValue
        default: nil
        }
    }
}

/// The upstream's answer: its `result` object or its `error` object.
enum UpstreamReply: Sendable, Equatable {
    case result(JSONValue)
    case error(JSONValue)

    /// The JSON-RPC response carrying this answer to request `id`.
    func response(to id: JSONValue) -> JSONValue {
        switch self {
        case .result(let result): ["jsonrpc": "2.0", "id": id, "result": result]
        case .error(let error): ["jsonrpc": "2.0", "id": id, "error": error]
        }
    }
}

/// Who a request is for: the principal, and the token it was verified from (for an `exchange`
/// identity only; never sent to the upstream).
struct Caller: Sendable {
    var principal: Principal
    var token: String?

    static let anonymous = Caller(principal: .anonymous, token: nil)

    init(principal: Principal, token: String?) {
        self.principal = principal
        self.token = token
    }

    init(_ environment: MCPRequestEnvironment) {
        self.init(principal: environment.principal, token: environment.callerToken)
    }
}

/// What happens to messages an upstream sends before its answer.
struct UpstreamRelay: Sendable {
    /// Forwards a notification to the client (progress, log messages, list changes).
    var notify: @Sendable (JSONValue) -> Void
    /// Answers a request from the upstream (`elicitation/create`, `sampling/createMessage`,
    /// `roots/list`, `ping`): the `result` or `error` member to send back.
    var answer: @Sendable (_ method: String, _ params: JSONValue) async -> UpstreamReply

    /// A relay for a request with no client to relay to: notifications are dropped, requests refused.
    static let none = UpstreamRelay(notify: { _ in }, answer: { method, _ in UpstreamRelay.refusal(method) })

    /// Built from the downstream exchange: relays what the client can receive and refuses the
    /// rest (never invents a bridge: a client that cannot be asked is not asked).
    init(client: ClientChannel?, timeout: Duration) {
        notify = { message in client?.notify(message) }
        answer = { method, params in
            if method == "ping" { return .result(.object([:])) }
            guard let client, client.carriesRequests else { return Self.refusal(method) }
            do throws(ClientRequestFailure) {
                return .result(try await client.request(method, params: params, timeout: timeout))
            } catch .answeredWithError(let error) {
                return .error(error)
            } catch {
                return .error(["code": .int(JSONRPCError.internalErrorCode), "message": "the client did not answer \(method) in time"])
            }
        }
    }

    init(notify: @escaping @Sendable (JSONValue) -> Void, answer: @escaping @Sendable (String, JSONValue) async -> UpstreamReply) {
        self.notify = notify
        self.answer = answer
    }

    static func refusal(_ method: String) -> UpstreamReply {
        .error([
            "code": .int(JSONRPCError.methodNotFoundCode),
            "message": .string("the client behind the gateway cannot receive \(method) on this request"),
        ])
    }
}

/// A way of exchanging messages with one upstream: Streamable HTTP or a stdio process.
protocol UpstreamChannel: Sendable {
    /// Sends `request` and returns the upstream's answer; messages before it go to `relay`.
    func send(_ request: UpstreamRequest, relay: UpstreamRelay) async throws(UpstreamFailure) -> UpstreamReply
    /// Ends the upstream session (if any) and releases what the channel holds.
    func close() async
}
