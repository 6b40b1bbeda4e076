import GatehouseCore
import MCP

/// A JSON-RPC request id: a string or an integer, echoed with its JSON type intact.
public typealias RequestID = MCP.ID

/// One JSON-RPC message received from a client.
public enum JSONRPCMessage: Sendable, Equatable {
    /// A call that expects a response.
    case request(JSONRPCRequest)
    /// A one-way message (no `id`).
    case notification(method: String, params: [String: JSONValue])
    /// A response to a request the server sent (`elicitation/create`, `sampling/createMessage` …),
    /// the whole object.
    case response([String: JSONValue])

    /// Interprets a decoded JSON value as a JSON-RPC 2.0 message.
    ///
    /// - Throws: ``JSONRPCError`` -32600 when the value is not a JSON-RPC 2.0 object.
    public init(_ value: JSONValue) throws(JSONRPCError) {
        guard case .object(let object) = value else {
            throw .invalidRequest("expected a JSON-RPC 2.0 object")
        }
        guard object["jsonrpc"] == .string("2.0") else {
            throw .invalidRequest("\"jsonrpc\" must be \"2.0\"")
        }
        if object["result"] != nil || object["error"] != nil, object["method"] == nil {
            self = .response(object)
            return
        }
        guard case .string(let method)? = object["method"], !method.isEmpty else {
            throw .invalidRequest("\"method\" must be a non-empty string")
        }
        let params: [String: JSONValue]
        switch object["params"] {
        case nil, .null?: params = [:]
        case .object(let value)?: params = value
        default: throw .invalidRequest("\"params\" must be an object")
        }
        switch object["id"] {
        case nil:
            self = .notification(method: method, params: params)
        case .string(let id)?:
            self = .request(JSONRPCRequest(id: .string(id), method: method, params: params))
        case .int(let id)?:
            self = .request(JSONRPCRequest(id: .number(id), method: method, params: params))
        default:
            // MCP basic (2025-06-18): the request ID MUST be a string or integer and MUST NOT be null.
            throw .invalidRequest("\"id\" must be a string or an integer")
        }
    }
}

/// A JSON-RPC request: a method call that expects exactly one response.
public struct JSONRPCRequest: Sendable, Equatable {
    public var id: RequestID
    public var method: String
    public var params: [String: JSONValue]

    public init(id: RequestID, method: String, params: [String: JSONValue] = [:]) {
        self.id = id
        self.method = method
        self.params = params
    }
}
