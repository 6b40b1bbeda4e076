/// OAuth 2.0 Protected Resource Metadata (RFC 9728 §2) for the MCP endpoint.
///
/// MCP authorization (2025-06-18 §2.3.1): MCP servers MUST implement RFC 9728, and the
/// `authorization_servers` field MUST contain at least one authorization server.
/// RFC 9728 §3.3: `resource` MUST be identical to the resource identifier the metadata
/// was requested for, which is the canonical URL of the MCP endpoint.
public struct ProtectedResourceMetadata: Encodable, Sendable, Equatable {
    public var resource: String
    public var authorizationServers: [String]
    public var scopesSupported: [String]
    public var bearerMethodsSupported = ["header"]
    public var resourceName: String

    public init(resource: String, authorizationServers: [String], scopesSupported: [String], resourceName: String) {
        self.resource = resource
        self.authorizationServers = authorizationServers
        self.scopesSupported = scopesSupported
        self.resourceName = resourceName
    }

    enum CodingKeys: String, CodingKey {
        case resource
        case authorizationServers = "authorization_servers"
        case scopesSupported = "scopes_supported"
        case bearerMethodsSupported = "bearer_methods_supported"
        case resourceName = "resource_name"
    }
}
