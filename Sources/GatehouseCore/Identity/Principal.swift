import MCP

/// The authenticated caller of a request, as established by a token verifier.
///
/// Every tool handler receives the principal of the request it serves. Until a
/// verifier is configured the server runs without authentication and requests
/// carry ``anonymous``.
public struct Principal: Sendable, Hashable {
    /// The subject (`sub`) that identifies the user at the issuer.
    public var subject: String
    /// The issuer (`iss`) that vouched for the subject; subject + issuer is the identity.
    public var issuer: String?
    public var email: String?
    /// The OAuth client the token was issued to (`client_id` or `azp`).
    public var clientID: String?
    public var scopes: Set<String>
    public var organizationID: String?
    /// Every claim of the token, for tools that need more than the fields above.
    public var claims: [String: JSONValue]
    /// True for the placeholder principal of an unauthenticated server.
    public var isAnonymous: Bool
    /// The caller's account in this server's own user store (the hub's user id), once it has
    /// been resolved for the request, so that nothing resolves it again.
    public var accountID: Int64?

    public init(
        subject: String, issuer: String? = nil, email: String? = nil, clientID: String? = nil,
        scopes: Set<String> = [], organizationID: String? = nil, claims: [String: JSONValue] = [:]
    ) {
        self.subject = subject
        self.issuer = issuer
        self.email = email
        self.clientID = clientID
        self.scopes = scopes
        self.organizationID = organizationID
        self.claims = claims
        self.isAnonymous = false
    }

    /// The caller of a server that has no token verifier configured.
    public static let anonymous: Principal = {
        var principal = Principal(subject: "anonymous")
        principal.isAnonymous = true
        return principal
    }()
}
