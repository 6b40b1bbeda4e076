import GatehouseCore

/// An OAuth 2.0 error response (RFC 6749 §5.2, §4.1.2.1; RFC 7591 §3.2.2; RFC 8707 §2).
///
/// Every failure of the authorization server is one of these, so API routes always answer
/// with an `error` code a client can act on, never an HTML page.
public struct OAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidRequest = "invalid_request"
        case invalidClient = "invalid_client"
        case invalidGrant = "invalid_grant"
        case unauthorizedClient = "unauthorized_client"
        case unsupportedGrantType = "unsupported_grant_type"
        case unsupportedResponseType = "unsupported_response_type"
        case invalidScope = "invalid_scope"
        case accessDenied = "access_denied"
        case invalidTarget = "invalid_target"
        case invalidRedirectURI = "invalid_redirect_uri"
        case invalidClientMetadata = "invalid_client_metadata"
        case serverError = "server_error"
        case temporarilyUnavailable = "temporarily_unavailable"
    }

    public var code: Code
    /// A human-readable explanation, safe to send to the client.
    public var description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// The JSON body: `{"error": …, "error_description": …}`.
    public var json: JSONValue {
        ["error": .string(code.rawValue), "error_description": .string(description)]
    }
}
