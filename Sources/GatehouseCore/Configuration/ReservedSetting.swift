/// Seed-guide settings this version of Gatehouse knows by name but does not act on yet.
///
/// Knowing them lets `--env` reject typos while accepting the names users already
/// have. Those that configure a token provider stop start-up: serving tools without
/// authentication to someone who believes a provider protects them would be worse
/// than not starting.
public struct ReservedSetting: Sendable, Hashable {
    public let environmentName: String
    /// When true, setting it stops start-up instead of producing a warning.
    public let isSecurityRelevant: Bool

    /// The setting as ``ConfigurationSources/lookup(_:)`` reads it: environment layers only, no flag.
    var setting: Setting { Setting(name: environmentName, environmentNames: [environmentName], summary: "") }

    public static let all: [ReservedSetting] = [
        "WORKOS_AUTHKIT_DOMAIN", "WORKOS_CLIENT_ID", "WORKOS_API_KEY", "WORKOS_ORGANIZATION_ID",
        "WORKOS_CONNECTION_ID", "MCP_REQUIRED_SCOPES", "MCP_JWT_ISSUER", "MCP_JWT_JWKS_URI",
        "MCP_JWT_AUDIENCE", "MCP_PROVIDER_TYPE", "MCP_STATIC_TOKENS",
    ].map { ReservedSetting(environmentName: $0, isSecurityRelevant: true)
    } + ["HUB_DATABASE_PATH", "HUB_DATABASE_URL"].map {
        ReservedSetting(environmentName: $0, isSecurityRelevant: false)
    }
}
