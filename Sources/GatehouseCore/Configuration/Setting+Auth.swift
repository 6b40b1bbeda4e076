/// Settings of the resource-server side: which provider issues tokens and how they are checked.
extension Setting {
    public static let providerType = Setting(
        name: "providerType", flag: "provider", environmentNames: ["GATEHOUSE_PROVIDER", "MCP_PROVIDER_TYPE"],
        summary: "embedded, authkit, jwt, introspection, static or none (default: inferred from the settings below, else embedded).")
    public static let authKitDomain = Setting(
        name: "authKitDomain", flag: "authkit-domain", environmentNames: ["WORKOS_AUTHKIT_DOMAIN"],
        summary: "AuthKit domain, e.g. https://your-project-12345.authkit.app.")
    public static let jwtIssuer = Setting(
        name: "jwtIssuer", flag: "jwt-issuer", environmentNames: ["MCP_JWT_ISSUER"],
        summary: "Issuer (iss) of accepted JWT access tokens, e.g. https://issuer.example.com.")
    public static let jwtJWKSURI = Setting(
        name: "jwtJWKSURI", flag: "jwt-jwks-uri", environmentNames: ["MCP_JWT_JWKS_URI"],
        summary: "JWKS URL of the issuer (default: jwks_uri from the issuer's metadata).")
    public static let jwtAudience = Setting(
        name: "jwtAudience", flag: "jwt-audience", environmentNames: ["MCP_JWT_AUDIENCE"],
        summary: "Comma-separated accepted audiences (default: the MCP endpoint's URL).")
    public static let jwtAlgorithms = Setting(
        name: "jwtAlgorithms", environmentNames: ["MCP_JWT_ALGORITHMS"],
        summary: "Comma-separated accepted JWT algorithms among RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA.")
    public static let introspectionURL = Setting(
        name: "introspectionURL", environmentNames: ["MCP_INTROSPECTION_URL"],
        summary: "RFC 7662 introspection endpoint for opaque tokens.")
    public static let introspectionClientID = Setting(
        name: "introspectionClientID", environmentNames: ["MCP_INTROSPECTION_CLIENT_ID"],
        summary: "Client id Gatehouse authenticates to the introspection endpoint with.")
    public static let introspectionClientSecret = Setting(
        name: "introspectionClientSecret", environmentNames: ["MCP_INTROSPECTION_CLIENT_SECRET"],
        summary: "Client secret for the introspection endpoint.")
    public static let introspectionAuthMethod = Setting(
        name: "introspectionAuthMethod", environmentNames: ["MCP_INTROSPECTION_AUTH_METHOD"],
        summary: "client_secret_basic (default) or client_secret_post.")
    public static let authorizationServer = Setting(
        name: "authorizationServer", environmentNames: ["MCP_AUTHORIZATION_SERVER"],
        summary: "Issuer URL to advertise in protected-resource metadata (default: the provider's issuer).")
    public static let staticTokens = Setting(
        name: "staticTokens", environmentNames: ["MCP_STATIC_TOKENS"],
        summary: "Development tokens as token:client:user:scope1,scope2;… (with MCP_PROVIDER_TYPE=static).")
    public static let allowStaticTokensRemotely = Setting(
        name: "allowStaticTokensRemotely",
        environmentNames: ["GATEHOUSE_ALLOW_STATIC_TOKENS_REMOTELY"],
        summary: "true to accept static tokens on a non-loopback base URL (never do this in production).")
    public static let requiredScopes = Setting(
        name: "requiredScopes", flag: "required-scopes", environmentNames: ["GATEHOUSE_REQUIRED_SCOPES", "MCP_REQUIRED_SCOPES"],
        summary: "Comma-separated scopes every request needs.")
    public static let jwtLeeway = Setting(
        name: "jwtLeeway", environmentNames: ["GATEHOUSE_JWT_LEEWAY"],
        summary: "Seconds of clock skew tolerated on exp, nbf and iat (default 30, at most 300).")
    public static let jwksCacheTTL = Setting(
        name: "jwksCacheTTL", environmentNames: ["GATEHOUSE_JWKS_CACHE_TTL"],
        summary: "Seconds a fetched JWKS is trusted before it is fetched again (default 300).")
    public static let trustForwardedHeaders = Setting(
        name: "trustForwardedHeaders", flag: "trust-forwarded-headers",
        environmentNames: ["GATEHOUSE_TRUST_FORWARDED_HEADERS"],
        summary: "true to build public URLs from X-Forwarded-Proto/Host when no base URL is set (only behind a proxy you control).")
    public static let lazyProvider = Setting(
        name: "lazyProvider", flag: "lazy-provider", environmentNames: ["GATEHOUSE_LAZY_PROVIDER"],
        summary: "true to start without fetching the provider's metadata first.")
    public static let resourceName = Setting(
        name: "resourceName", environmentNames: ["GATEHOUSE_RESOURCE_NAME"],
        summary: "Human-readable name in the protected-resource metadata (default Gatehouse).")

    /// Every resource-server setting.
    public static let authSettings: [Setting] = [
        .providerType, .authKitDomain, .jwtIssuer, .jwtJWKSURI, .jwtAudience, .jwtAlgorithms, .introspectionURL,
        .introspectionClientID, .introspectionClientSecret, .introspectionAuthMethod, .authorizationServer,
        .staticTokens, .allowStaticTokensRemotely, .requiredScopes, .jwtLeeway, .jwksCacheTTL, .trustForwardedHeaders,
        .lazyProvider, .resourceName,
    ]
}
