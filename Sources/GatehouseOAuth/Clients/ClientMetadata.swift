import GatehouseCore

/// Client metadata from a Dynamic Client Registration request (RFC 7591 §2), validated.
public struct ClientMetadata: Sendable, Equatable {
    public enum AuthMethod: String, Sendable, CaseIterable {
        /// A public client (native app, CLI): no secret, PKCE only.
        case none
        case clientSecretBasic = "client_secret_basic"
        case clientSecretPost = "client_secret_post"
    }

    public enum ApplicationType: String, Sendable {
        case native
        case web
    }

    public var redirectURIs: [RedirectURI]
    public var clientName: String?
    public var authMethod: AuthMethod
    public var applicationType: ApplicationType
    public var scope: [String]
    public var grantTypes: [String]

    /// Grant types Gatehouse issues tokens for.
    public static let supportedGrantTypes = ["authorization_code", "refresh_token"]

    /// Validates a registration request body.
    ///
    /// RFC 7591 §3.2.2: a bad redirect URI is `invalid_redirect_uri`; any other bad field is
    /// `invalid_client_metadata`. Unknown fields are ignored (§2).
    ///
    /// - Parameter defaultAuthMethod: the method when none is given: RFC 7591 §2 says
    ///   `client_secret_basic`; a Client ID Metadata Document describes a public client.
    public init(registration body: JSONValue, defaultAuthMethod: AuthMethod = .clientSecretBasic) throws(OAuthError) {
        guard case .object(let fields) = body else {
            throw OAuthError(.invalidClientMetadata, "the registration request must be a JSON object")
        }
        guard case .array(let uris)? = fields["redirect_uris"], !uris.isEmpty, uris.count <= 10 else {
            throw OAuthError(.invalidRedirectURI, "redirect_uris must list between 1 and 10 redirect URIs")
        }
        var redirectURIs: [RedirectURI] = []
        for uri in uris {
            guard case .string(let text) = uri else { throw OAuthError(.invalidRedirectURI, "redirect_uris must be strings") }
            redirectURIs.append(try RedirectURI(registering: text))
        }
        self.redirectURIs = redirectURIs

        switch fields["client_name"] {
        case nil, .null?: clientName = nil
        case .string(let name)? where (1...200).contains(name.count): clientName = name
        default: throw OAuthError(.invalidClientMetadata, "client_name must be a string of 1 to 200 characters")
        }
        switch fields["token_endpoint_auth_method"] {
        case nil, .null?: authMethod = defaultAuthMethod
        case .string(let method)?:
            guard let known = AuthMethod(rawValue: method) else {
                throw OAuthError(
                    .invalidClientMetadata,
                    "token_endpoint_auth_method must be one of \(AuthMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            authMethod = known
        default: throw OAuthError(.invalidClientMetadata, "token_endpoint_auth_method must be a string")
        }
        switch fields["application_type"] {
        case nil, .null?: applicationType = .web  // OpenID Connect Dynamic Registration §2 default
        case .string(let type)?:
            guard let known = ApplicationType(rawValue: type) else {
                throw OAuthError(.invalidClientMetadata, "application_type must be native or web")
            }
            applicationType = known
        default: throw OAuthError(.invalidClientMetadata, "application_type must be a string")
        }
        switch fields["scope"] {
        case nil, .null?: scope = []
        case .string(let text)?: scope = text.split(separator: " ").map(String.init)
        default: throw OAuthError(.invalidClientMetadata, "scope must be a space-separated string")
        }
        switch fields["grant_types"] {
        case nil, .null?: grantTypes = ["authorization_code"]
        case .array(let values)?:
            let types = values.compactMap(\.stringValue)
            guard types.count == values.count, !types.isEmpty, types.allSatisfy(Self.supportedGrantTypes.contains) else {
                throw OAuthError(
                    .invalidClientMetadata, "grant_types may contain only \(Self.supportedGrantTypes.joined(separator: " and "))")
            }
            grantTypes = types
        default: throw OAuthError(.invalidClientMetadata, "grant_types must be an array")
        }
        if case .array(let types)? = fields["response_types"], types != ["code"] {
            throw OAuthError(.invalidClientMetadata, "response_types may only be [\"code\"]")
        }
    }

    /// The metadata as registered, for the registration response (RFC 7591 §3.2.1) and the store.
    public var document: JSONValue {
        var fields: [String: JSONValue] = [
            "redirect_uris": .array(redirectURIs.map { .string($0.text) }),
            "token_endpoint_auth_method": .string(authMethod.rawValue),
            "application_type": .string(applicationType.rawValue),
            "grant_types": .array(grantTypes.map { .string($0) }),
            "response_types": ["code"],
        ]
        if let clientName { fields["client_name"] = .string(clientName) }
        if !scope.isEmpty { fields["scope"] = .string(scope.joined(separator: " ")) }
        return .object(fields)
    }

    /// True when the client may use refresh tokens.
    public var usesRefreshTokens: Bool { grantTypes.contains("refresh_token") }

    /// The registered redirect URI that `requested` matches, if any.
    public func redirectURI(matching requested: String) -> RedirectURI? {
        redirectURIs.first { $0.matches(requested) }
    }
}
