/// Builds `WWW-Authenticate: Bearer …` challenges (RFC 6750 §3, RFC 9728 §5.1).
///
/// MCP authorization (2025-06-18 §2.3.1, 2025-11-25 "Protected Resource Metadata Discovery"):
/// servers MUST use `WWW-Authenticate` on 401 to indicate the resource metadata URL, and
/// SHOULD include `scope` with the scopes needed. RFC 6750 §3.1: a request without any
/// credentials gets no `error` code; a bad token gets `invalid_token`; missing scopes get
/// 403 `insufficient_scope` naming every scope needed.
public struct BearerChallenge: Sendable, Equatable {
    public enum Error: String, Sendable {
        case invalidRequest = "invalid_request"
        case invalidToken = "invalid_token"
        case insufficientScope = "insufficient_scope"
    }

    public var resourceMetadataURL: String
    public var scopes: [String]
    public var error: Error?
    public var errorDescription: String?

    public init(resourceMetadataURL: String, scopes: [String], error: Error? = nil, errorDescription: String? = nil) {
        self.resourceMetadataURL = resourceMetadataURL
        self.scopes = scopes
        self.error = error
        self.errorDescription = errorDescription
    }

    /// The header value.
    public var headerValue: String {
        var parameters: [String] = []
        if let error { parameters.append("error=\(Self.quoted(error.rawValue))") }
        if let errorDescription { parameters.append("error_description=\(Self.quoted(errorDescription))") }
        parameters.append("resource_metadata=\(Self.quoted(resourceMetadataURL))")
        if !scopes.isEmpty { parameters.append("scope=\(Self.quoted(scopes.joined(separator: " ")))") }
        return "Bearer " + parameters.joined(separator: ", ")
    }

    /// RFC 6750 §3: error_description uses %x20-21 / %x23-5B / %x5D-7E; other characters become spaces.
    private static func quoted(_ value: String) -> String {
        let safe = value.unicodeScalars.map { scalar -> Character in
            switch scalar.value {
            case 0x20...0x21, 0x23...0x5B, 0x5D...0x7E: Character(scalar)
            default: " "
            }
        }
        return "\"" + String(safe) + "\""
    }
}
