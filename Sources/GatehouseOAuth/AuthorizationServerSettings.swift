import Foundation

/// What the embedded authorization server needs to know about its deployment.
public struct AuthorizationServerSettings: Sendable {
    /// The issuer URL, exactly as published in metadata and in tokens' `iss`.
    public var issuer: String
    /// RFC 8707 resources tokens may be issued for (the MCP endpoints); the first is used when
    /// a client names none.
    public var resources: [String]
    public var scopesSupported: [String]
    public var accessTokenLifetime: TimeInterval = 900
    /// The absolute lifetime of a login: refresh rotation never extends it.
    public var refreshTokenLifetime: TimeInterval = 30 * 86_400
    /// RFC 6749 §4.1.2 recommends at most ten minutes; codes are redeemed within seconds.
    public var codeLifetime: TimeInterval = 60
    /// How long a just-rotated refresh token still works, for clients that refresh twice
    /// concurrently; reuse after that revokes the family.
    public var refreshReuseGrace: TimeInterval = 10
    /// How long a dynamic registration lives if no code is ever issued to it: registration is
    /// open to anyone, so what a flood leaves behind must go away by itself.
    public var unusedRegistrationLifetime: TimeInterval = 3600
    public var acceptsClientMetadataDocuments = true
    /// Allows Client ID Metadata Document URLs on loopback and private addresses (tests, intranets).
    public var allowPrivateClientMetadataURLs = false
    /// How sign-in failures slow further attempts down.
    public var signInThrottle = SignInThrottle.Policy()
    /// Clock skew tolerated when verifying the tokens it issued.
    public var leeway: TimeInterval = 30

    public init(issuer: String, resources: [String], scopesSupported: [String]) {
        self.issuer = issuer
        self.resources = resources
        self.scopesSupported = scopesSupported
    }

    /// The metadata document this configuration publishes.
    public var metadata: AuthorizationServerMetadata {
        AuthorizationServerMetadata(
            issuer: issuer, scopesSupported: scopesSupported, clientIDMetadataDocumentSupported: acceptsClientMetadataDocuments)
    }

    /// The resource `requested` names, in its canonical form, or `nil` when tokens cannot be
    /// issued for it. A trailing slash is tolerated (MCP authorization "Canonical Server URI").
    func canonicalResource(_ requested: String?) -> String? {
        guard let requested else { return resources.first }
        let trimmed = requested.hasSuffix("/") ? String(requested.dropLast()) : requested
        return resources.first { $0 == requested || $0 == trimmed }
    }
}
