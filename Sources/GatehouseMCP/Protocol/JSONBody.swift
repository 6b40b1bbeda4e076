import Foundation
import GatehouseCore

/// Decodes request bodies into ``JSONValue`` with ``JSONValue/parse(_:)``, reporting
/// malformed text as the JSON-RPC parse error the transport answers with.
public enum JSONBody {
    /// Deepest nesting of arrays and objects accepted.
    public static var maxDepth: Int { JSONValue.maxParseDepth }

    /// Parses `data` as one JSON value.
    ///
    /// - Throws: ``JSONRPCError`` -32700 naming the problem and its byte offset.
    public static func decode(_ data: Data) throws(JSONRPCError) -> JSONValue {
        do {
            return try JSONValue.parse(data)
        } catch {
            throw .parseError(error.description)
        }
    }
}
