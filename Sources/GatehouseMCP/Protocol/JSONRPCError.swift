import GatehouseCore

/// A JSON-RPC error object, as sent in the `error` member of a response.
///
/// Every failure that reaches the wire is one of these, so a client always gets a
/// code it can act on and a message a person can read.
public struct JSONRPCError: Error, Sendable, Equatable {
    public var code: Int
    public var message: String
    public var data: JSONValue?

    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    // JSON-RPC 2.0 §5.1 codes.
    public static let parseErrorCode = -32700
    public static let invalidRequestCode = -32600
    public static let methodNotFoundCode = -32601
    public static let invalidParamsCode = -32602
    public static let internalErrorCode = -32603
    // MCP 2026-07-28, basic "Error Codes".
    public static let headerMismatchCode = -32020
    public static let missingRequiredClientCapabilityCode = -32021
    public static let unsupportedProtocolVersionCode = -32022
    /// Gatehouse's own, in the implementation-defined server range: a rate limit refused the
    /// request (sent with HTTP 429 and `Retry-After`).
    public static let rateLimitedCode = -32029
    /// Elicitation (2025-11-25, "URL Elicitation Required Error"): the request needs the user
    /// to complete an out-of-band interaction at a URL first.
    public static let urlElicitationRequiredCode = -32042

    public static func parseError(_ detail: String) -> Self {
        Self(code: parseErrorCode, message: "Parse error: \(detail)")
    }
    public static func invalidRequest(_ detail: String) -> Self {
        Self(code: invalidRequestCode, message: "Invalid request: \(detail)")
    }
    public static func methodNotFound(_ method: String) -> Self {
        Self(code: methodNotFoundCode, message: "Method not found: \(method)", data: .string(method))
    }
    public static func invalidParams(_ detail: String, data: JSONValue? = nil) -> Self {
        Self(code: invalidParamsCode, message: "Invalid params: \(detail)", data: data)
    }
    public static func internalError(_ detail: String) -> Self {
        Self(code: internalErrorCode, message: "Internal error: \(detail)")
    }
    public static func headerMismatch(_ detail: String) -> Self {
        Self(code: headerMismatchCode, message: "Header mismatch: \(detail)")
    }
    /// A rate limit refused the request; `data` says which (`limit`, `retryAfter`).
    public static func rateLimited(_ detail: String, data: JSONValue) -> Self {
        Self(code: rateLimitedCode, message: "Rate limited: \(detail)", data: data)
    }
    public static func unsupportedProtocolVersion(requested: String) -> Self {
        Self(
            code: unsupportedProtocolVersionCode, message: "Unsupported protocol version",
            data: .object([
                "supported": .array(ProtocolVersion.all.map { .string($0.rawValue) }),
                "requested": .string(requested),
            ]))
    }
}

extension JSONRPCError {
    func write(into writer: inout JSONWriter) {
        writer.raw("{")
        writer.key("code", first: true)
        writer.int(code)
        writer.key("message")
        writer.string(message)
        if let data {
            writer.key("data")
            writer.value(data)
        }
        writer.raw("}")
    }
}
