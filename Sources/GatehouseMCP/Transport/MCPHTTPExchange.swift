import Foundation
import GatehouseCore
import HTTPTypes

/// An HTTP request to the MCP endpoint, as the HTTP server hands it over: the body
/// already read (within the size limit) and the caller already authenticated.
public struct MCPHTTPRequest: Sendable {
    public var method: HTTPRequest.Method
    public var headerFields: HTTPFields
    public var body: Data
    public var principal: Principal
    /// The bearer token `principal` was verified from, for a service that exchanges it at its
    /// issuer (RFC 8693); never forwarded anywhere else.
    public var callerToken: String?

    public init(method: HTTPRequest.Method, headerFields: HTTPFields, body: Data = Data(), principal: Principal = .anonymous) {
        self.method = method
        self.headerFields = headerFields
        self.body = body
        self.principal = principal
    }
}

/// The HTTP response the MCP endpoint decided on.
public struct MCPHTTPResponse: Sendable {
    /// What follows the head: the whole body, or a stream of server-sent events.
    public enum Body: Sendable {
        case bytes(Data)
        /// SSE events, each framed (`event: message`, `data: …`, a blank line), as they happen; the
        /// last one carries the JSON-RPC response. When the consumer stops iterating (the client
        /// went away), the work producing them is cancelled.
        case events(AsyncStream<Data>)

        /// Every byte of the body, waiting for a stream to end.
        public func collected() async -> Data {
            switch self {
            case .bytes(let data):
                return data
            case .events(let events):
                var data = Data()
                for await event in events { data.append(event) }
                return data
            }
        }
    }

    public var status: HTTPResponse.Status
    public var headerFields: HTTPFields
    public var body: Body
    /// On a 403 for missing scopes: every scope needed, for the `insufficient_scope` challenge
    /// that the HTTP layer (which knows the resource metadata URL) adds.
    public var insufficientScopes: [String]?

    public init(status: HTTPResponse.Status, headerFields: HTTPFields = [:], body: Data = Data()) {
        self.init(status: status, headerFields: headerFields, body: .bytes(body))
    }

    public init(status: HTTPResponse.Status, headerFields: HTTPFields, body: Body) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
    }

    /// `202 Accepted` with no body: the answer to notifications and client responses.
    static let accepted = MCPHTTPResponse(status: .accepted)

    /// A JSON-RPC response in the format the client accepts; a scope failure becomes 403.
    static func answer(_ response: JSONRPCResponse, format: ResponseFormat, status: HTTPResponse.Status = .ok) -> MCPHTTPResponse {
        guard let scopes = response.insufficientScopes else { return message(response.encoded(), format: format, status: status) }
        var http = message(response.encoded(), format: .json, status: .forbidden)
        http.insufficientScopes = scopes
        return http
    }

    /// A JSON-RPC response (or batch) in the format the client accepts.
    static func message(_ json: Data, format: ResponseFormat, status: HTTPResponse.Status = .ok) -> MCPHTTPResponse {
        switch format {
        case .json:
            return MCPHTTPResponse(status: status, headerFields: [.contentType: "application/json"], body: json)
        case .eventStream:
            return MCPHTTPResponse(status: status, headerFields: eventStreamHeaders, body: .bytes(event(json)))
        }
    }

    /// A stream of SSE events: notifications as they happen, then the response.
    static func eventStream(_ events: AsyncStream<Data>) -> MCPHTTPResponse {
        MCPHTTPResponse(status: .ok, headerFields: eventStreamHeaders, body: .events(events))
    }

    /// One SSE `message` event carrying `json` (Streamable HTTP: each JSON-RPC message is an event).
    static func event(_ json: Data) -> Data {
        var frame = Data("event: message\ndata: ".utf8)
        frame.append(json)
        frame.append(contentsOf: Array("\n\n".utf8))
        return frame
    }

    /// The head of an event stream; `X-Accel-Buffering: no` keeps nginx from holding events back.
    private static let eventStreamHeaders: HTTPFields = [
        .contentType: "text/event-stream", .cacheControl: "no-cache, no-transform", xAccelBuffering: "no",
    ]

    /// An HTTP-level failure carrying a JSON-RPC error body, which the transport spec allows
    /// on every error status and which tells the client precisely what to fix.
    public static func failure(_ status: HTTPResponse.Status, _ error: JSONRPCError, id: RequestID? = nil) -> MCPHTTPResponse {
        message(JSONRPCResponse(id: id, error: error).encoded(), format: .json, status: status)
    }

    /// `405 Method Not Allowed` with the methods that are.
    static func methodNotAllowed(allow: String, _ detail: String) -> MCPHTTPResponse {
        var response = failure(.methodNotAllowed, .invalidRequest(detail))
        response.headerFields[.allow] = allow
        return response
    }

    private static let xAccelBuffering = HTTPField.Name("X-Accel-Buffering")!
}

/// How a response body is framed: one JSON object, or one SSE `message` event.
enum ResponseFormat: Equatable {
    case json
    case eventStream
}
