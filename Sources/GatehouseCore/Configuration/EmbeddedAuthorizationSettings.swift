import Foundation

/// Settings of the embedded authorization server (used when no external provider is set).
public struct EmbeddedAuthorizationSettings: Sendable, Equatable {
    /// Lifetime of issued access tokens.
    public var accessTokenLifetime: Duration = .seconds(900)
    /// Absolute lifetime of a login's refresh tokens.
    public var refreshTokenLifetime: Duration = .seconds(30 * 86_400)
    /// Approve every authorization request as ``devUser`` without showing the sign-in page.
    /// Allowed only when the public base URL is loopback.
    public var devAutoApprove = false
    /// The email of the user auto-approval signs in.
    public var devUser = "dev@localhost"
    /// Allow Client ID Metadata Document URLs on loopback and private networks.
    public var allowPrivateClientMetadataURLs = false
    /// Resources (besides this server's MCP endpoint) tokens may be issued for: the MCP
    /// servers a standalone `gatehouse idp` serves.
    public var extraResources: [String] = []
    /// Scopes a standalone `gatehouse idp` offers (the hub offers the scopes its tools need).
    public var scopes: [String] = []
    /// The longest wait after failed sign-ins (an account or address is locked this long).
    public var signInLockout: Duration = .seconds(900)
    /// The wait after the first failed sign-in past the free ones; it doubles up to ``signInLockout``.
    public var signInFirstWait: Duration = .seconds(1)

    public init() {}
}

extension EmbeddedAuthorizationSettings {
    static func load(from sources: ConfigurationSources, publicBaseIsLoopback: Bool) throws(ConfigurationError) -> Self {
        let read = SettingReader(sources: sources)
        var settings = EmbeddedAuthorizationSettings()
        if let seconds = try read(.accessTokenLifetime, { Int($0).flatMap { (10...86_400).contains($0) ? $0 : nil } }) {
            settings.accessTokenLifetime = .seconds(seconds)
        }
        if let seconds = try read(.refreshTokenLifetime, { Int($0).flatMap { (60...31_536_000).contains($0) ? $0 : nil } }) {
            settings.refreshTokenLifetime = .seconds(seconds)
        }
        settings.devAutoApprove = try read.flag(.devAutoApprove) ?? false
        if settings.devAutoApprove, !publicBaseIsLoopback {
            throw read.error(
                .devAutoApprove, "auto-approval signs anyone in without a password; it is allowed only on a loopback base URL")
        }
        if let email = try read(.devUser, { $0.contains("@") && !$0.contains(where: \.isWhitespace) ? $0 : nil }) {
            settings.devUser = email
        }
        settings.allowPrivateClientMetadataURLs = try read.flag(.allowPrivateClientMetadataURLs) ?? false
        if let resources = try read.list(.extraResources) {
            for resource in resources {
                do {
                    _ = try URLSetting.https(resource, allowLoopbackHTTP: true)
                } catch {
                    throw read.error(.extraResources, "\(resource.prefix(64)) is not an https URL (http only on loopback)")
                }
            }
            settings.extraResources = resources
        }
        if let scopes = try read.list(.idpScopes) { settings.scopes = scopes }
        if let seconds = try read(.signInLockout, { Int($0).flatMap { (1...86_400).contains($0) ? $0 : nil } }) {
            settings.signInLockout = .seconds(seconds)
        }
        if let seconds = try read(.signInFirstWait, { Int($0).flatMap { (1...3_600).contains($0) ? $0 : nil } }) {
            guard Duration.seconds(seconds) <= settings.signInLockout else {
                throw read.error(.signInFirstWait, "\(seconds) s is longer than the lockout (GATEHOUSE_SIGN_IN_LOCKOUT, \(settings.signInLockout.components.seconds) s)")
            }
            settings.signInFirstWait = .seconds(seconds)
        }
        return settings
    }
}

extension Setting {
    public static let databasePath = Setting(
        name: "databasePath", flag: "database-path", environmentNames: ["GATEHOUSE_DATABASE_PATH", "HUB_DATABASE_PATH"],
        summary: "SQLite database file (default hub_data/hub.db).")
    public static let keyFile = Setting(
        name: "keyFile", environmentNames: ["GATEHOUSE_KEY_FILE"],
        summary: "File of the key that seals the signing keys when GATEHOUSE_SECRET_KEY is not set (default gatehouse.key beside the database; created 0600).")
    public static let devAutoApprove = Setting(
        name: "devAutoApprove", flag: "dev-auto-approve", environmentNames: ["GATEHOUSE_DEV_AUTO_APPROVE"],
        summary: "true to sign every authorization in as the dev user without a page (loopback base URL only).")
    public static let devUser = Setting(
        name: "devUser", environmentNames: ["GATEHOUSE_DEV_USER"],
        summary: "Email of the user --dev-auto-approve signs in (default dev@localhost).")
    public static let accessTokenLifetime = Setting(
        name: "accessTokenLifetime", environmentNames: ["GATEHOUSE_ACCESS_TOKEN_TTL"],
        summary: "Seconds an access token of the embedded authorization server is valid (default 900, 10 to 86400).")
    public static let refreshTokenLifetime = Setting(
        name: "refreshTokenLifetime", environmentNames: ["GATEHOUSE_REFRESH_TOKEN_TTL"],
        summary: "Seconds a login's refresh tokens last at most (default 2592000, 30 days).")
    public static let allowPrivateClientMetadataURLs = Setting(
        name: "allowPrivateClientMetadataURLs", environmentNames: ["GATEHOUSE_CIMD_ALLOW_PRIVATE"],
        summary: "true to fetch Client ID Metadata Documents from loopback or private addresses (tests, intranets).")
    public static let extraResources = Setting(
        name: "extraResources", flag: "resource", environmentNames: ["GATEHOUSE_IDP_RESOURCES"],
        summary: "Comma-separated MCP server URLs the embedded authorization server issues tokens for, besides its own.")

    public static let signInLockout = Setting(
        name: "signInLockout", environmentNames: ["GATEHOUSE_SIGN_IN_LOCKOUT"],
        summary: "Seconds an account or address is locked out after repeated failed sign-ins; shorter waits double up to it (default 900).")
    public static let signInFirstWait = Setting(
        name: "signInFirstWait", environmentNames: ["GATEHOUSE_SIGN_IN_FIRST_WAIT"],
        summary: "Seconds of the first wait once the free failed sign-ins are used up; each further failure doubles it (default 1, at most the lockout).")
    public static let idpScopes = Setting(
        name: "idpScopes", flag: "scopes", environmentNames: ["GATEHOUSE_IDP_SCOPES"],
        summary: "Comma-separated scopes a standalone `gatehouse idp` offers.")

    /// Every setting of the embedded authorization server and the store.
    public static let authorizationServerSettings: [Setting] = [
        .databasePath, .keyFile, .devAutoApprove, .devUser, .accessTokenLifetime, .refreshTokenLifetime,
        .allowPrivateClientMetadataURLs, .extraResources, .idpScopes, .signInLockout,
        .signInFirstWait,
    ]
}
