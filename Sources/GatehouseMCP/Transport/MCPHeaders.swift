import Foundation
import HTTPTypes

extension HTTPField.Name {
    /// `MCP-Protocol-Version`: the revision of every request after `initialize`, and of every stateless request.
    public static let mcpProtocolVersion = HTTPField.Name("MCP-Protocol-Version")!
    /// `Mcp-Session-Id`: the session of a session-era request.
    public static let mcpSessionID = HTTPField.Name("Mcp-Session-Id")!
    /// `Mcp-Method`: the JSON-RPC method of a stateless request (2026-07-28).
    public static let mcpMethod = HTTPField.Name("Mcp-Method")!
    /// `Mcp-Name`: the tool or prompt name, or resource URI, of a stateless request (2026-07-28).
    public static let mcpName = HTTPField.Name("Mcp-Name")!
}

/// Reading the 2026-07-28 request metadata headers.
enum MCPHeaderValue {
    /// The single value of `name`, `.missing`, or `.repeated` when the header occurs more than once.
    enum Lookup: Equatable {
        case missing
        case repeated
        case value(String)
    }

    static func lookup(_ name: HTTPField.Name, in fields: HTTPFields) -> Lookup {
        let values = fields[values: name]
        switch values.count {
        case 0: return .missing
        case 1: return .value(values[0])
        default: return .repeated
        }
    }

    /// Decodes a header value that may use the `=?base64?…?=` form.
    ///
    /// Streamable HTTP (2026-07-28, "Request Metadata"): values that are not plain ASCII
    /// are sent base64-encoded between `=?base64?` and `?=`, and the server MUST decode
    /// them before comparing. Returns `nil` for a malformed encoded value.
    static func decode(_ raw: String) -> String? {
        let prefix = "=?base64?"
        let suffix = "?="
        guard raw.hasPrefix(prefix), raw.hasSuffix(suffix), raw.count >= prefix.count + suffix.count else {
            return raw
        }
        let encoded = raw.dropFirst(prefix.count).dropLast(suffix.count)
        guard let data = Data(base64Encoded: String(encoded)) else { return nil }
        return String(data: data, encoding: .utf8)
    }
}
