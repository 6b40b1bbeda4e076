import GatehouseCore

/// The authorization server's RFC 8414 metadata (and its OpenID Connect discovery variant).
///
/// MCP authorization (2025-06-18 §2.3.2): authorization servers MUST provide RFC 8414
/// metadata; (2025-11-25) `code_challenge_methods_supported` MUST be present for clients
/// to proceed, and Client ID Metadata Document support is advertised with
/// `client_id_metadata_document_supported`.
public struct AuthorizationServerMetadata: Sendable {
    /// The issuer: exactly the URL the metadata is served for (RFC 8414 §3.3).
    public var issuer: String
    public var scopesSupported: [String]
    /// Whether Client ID Metadata Documents are accepted as `client_id`s.
    public var clientIDMetadataDocumentSupported: Bool

    public init(issuer: String, scopesSupported: [String], clientIDMetadataDocumentSupported: Bool) {
        self.issuer = issuer
        self.scopesSupported = scopesSupported
        self.clientIDMetadataDocumentSupported = clientIDMetadataDocumentSupported
    }

    /// The endpoint URLs, all under the issuer.
    public var authorizationEndpoint: String { issuer + "/authorize" }
    public var tokenEndpoint: String { issuer + "/token" }
    public var registrationEndpoint: String { issuer + "/register" }
    public var revocationEndpoint: String { issuer + "/revoke" }
    public var introspectionEndpoint: String { issuer + "/introspect" }
    public var jwksURI: String { issuer + "/jwks" }

    /// The RFC 8414 document. Only what the server really does is claimed: S256 only,
    /// the code flow only, the authentication methods it checks.
    public var document: JSONValue {
        [
            "issuer": .string(issuer),
            "authorization_endpoint": .string(authorizationEndpoint),
            "token_endpoint": .string(tokenEndpoint),
            "registration_endpoint": .string(registrationEndpoint),
            "revocation_endpoint": .string(revocationEndpoint),
            "introspection_endpoint": .string(introspectionEndpoint),
            "jwks_uri": .string(jwksURI),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": .array(ClientMetadata.supportedGrantTypes.map { .string($0) }),
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": .array(ClientMetadata.AuthMethod.allCases.map { .string($0.rawValue) }),
            "revocation_endpoint_auth_methods_supported": .array(ClientMetadata.AuthMethod.allCases.map { .string($0.rawValue) }),
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": .array(scopesSupported.map { .string($0) }),
            "authorization_response_iss_parameter_supported": true,
            "client_id_metadata_document_supported": .bool(clientIDMetadataDocumentSupported),
        ]
    }
}
