import GatehouseCore
import HTTPTypes

/// Checks a 2026-07-28 request's metadata (`_meta` envelope and routing headers) before dispatch.
///
/// Streamable HTTP (2026-07-28, "Request Metadata" and "Server Validation"): servers
/// MUST reject a request whose `MCP-Protocol-Version`, `Mcp-Method` or `Mcp-Name`
/// header is missing, malformed or differs from the body, with 400 and a
/// `HeaderMismatch` (-32020) error. basic (2026-07-28, "Per-request protocol fields"):
/// a request missing a required `_meta` field MUST be rejected with -32602 and HTTP 400.
enum StatelessRequestValidator {
    static let protocolVersionKey = "io.modelcontextprotocol/protocolVersion"
    static let clientCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities"

    /// Methods whose `Mcp-Name` header mirrors a body parameter, and that parameter's name.
    private static let namedParameter = ["tools/call": "name", "prompts/get": "name", "resources/read": "uri"]

    /// Returns the request's protocol version, or throws the error to answer with.
    static func validate(_ request: JSONRPCRequest, headers: HTTPFields) throws(JSONRPCError) -> ProtocolVersion {
        let versionHeader = try single(.mcpProtocolVersion, in: headers)
        let methodHeader = try single(.mcpMethod, in: headers)

        guard case .object(let meta)? = request.params["_meta"] else {
            throw .invalidParams(
                "params._meta must be an object carrying \(protocolVersionKey) and \(clientCapabilitiesKey)")
        }
        let missing = [protocolVersionKey, clientCapabilitiesKey].filter { meta[$0] == nil }
        guard missing.isEmpty else {
            throw .invalidParams("params._meta is missing \(missing.joined(separator: " and "))")
        }
        guard case .string(let bodyVersion)? = meta[protocolVersionKey] else {
            throw .invalidParams("\(protocolVersionKey) must be a string")
        }
        guard case .object? = meta[clientCapabilitiesKey] else {
            throw .invalidParams("\(clientCapabilitiesKey) must be an object")
        }

        guard let versionHeader else {
            throw .headerMismatch("the MCP-Protocol-Version header is required and must equal \(protocolVersionKey)")
        }
        guard versionHeader == bodyVersion else {
            throw .headerMismatch(
                "MCP-Protocol-Version header value '\(versionHeader)' does not match body value '\(bodyVersion)'")
        }
        guard let methodHeader else {
            throw .headerMismatch("the Mcp-Method header is required and must equal the request's method")
        }
        guard methodHeader == request.method else {
            throw .headerMismatch("Mcp-Method header value '\(methodHeader)' does not match body value '\(request.method)'")
        }
        if let parameter = namedParameter[request.method], case .string(let bodyName)? = request.params[parameter] {
            guard let nameHeader = try single(.mcpName, in: headers) else {
                throw .headerMismatch("the Mcp-Name header is required for \(request.method) and must equal params.\(parameter)")
            }
            guard nameHeader == bodyName else {
                throw .headerMismatch("Mcp-Name header value '\(nameHeader)' does not match body value '\(bodyName)'")
            }
        }

        let version = ProtocolVersion(rawValue: bodyVersion)
        guard !version.isSessionEra, version.isSupported else {
            throw .unsupportedProtocolVersion(requested: bodyVersion)
        }
        return version
    }

    /// The decoded value of a header that must not repeat, or `nil` when absent.
    private static func single(_ name: HTTPField.Name, in headers: HTTPFields) throws(JSONRPCError) -> String? {
        switch MCPHeaderValue.lookup(name, in: headers) {
        case .missing:
            return nil
        case .repeated:
            throw .headerMismatch("the \(name.canonicalName) header must appear once")
        case .value(let raw):
            guard let decoded = MCPHeaderValue.decode(raw) else {
                throw .headerMismatch("the \(name.canonicalName) header has a malformed =?base64?…?= value")
            }
            return decoded
        }
    }
}
