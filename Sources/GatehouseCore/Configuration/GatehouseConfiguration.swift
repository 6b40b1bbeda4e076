import Foundation
import Logging

/// The resolved, validated configuration of a Gatehouse process.
///
/// Build one with ``load(from:)``; every field has a safe default, and every value
/// that came from the user has been checked, so the rest of Gatehouse never
/// re-validates configuration.
public struct GatehouseConfiguration: Sendable, Equatable {
    /// Interface to bind, for example `127.0.0.1`, `0.0.0.0` or `::1`.
    public var host: String = "127.0.0.1"
    /// TCP port to bind; `0` asks the system for a free port.
    public var port: Int = 8884
    /// Public base URL as clients see it, without a trailing slash; `nil` means `http://HOST:PORT`.
    public var explicitBaseURL: PublicBaseURL?
    /// Path of the MCP endpoint, starting with `/` and without a trailing slash.
    public var mcpPath: String = "/mcp"
    public var logLevel: Logger.Level = .info
    /// Browser origins allowed in addition to same-origin and (on loopback) localhost.
    public var allowedOrigins: OriginAllowList = OriginAllowList()
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes: Int = 1 << 20
    /// Seconds an idle legacy MCP session is kept before it expires.
    public var sessionIdleTimeout: Duration = .seconds(3600)
    /// Most concurrent legacy MCP sessions.
    public var maxSessions: Int = 10_000
    /// Timeouts and the connection cap of the HTTP listener.
    public var connections = ConnectionSettings()
    /// How callers are authenticated.
    public var auth = AuthSettings()
    /// The embedded authorization server, used when `auth.provider` is `.embedded`.
    public var authorizationServer = EmbeddedAuthorizationSettings()
    /// The upstream identity provider people sign in with; `nil` for local passwords.
    public var upstreamLogin: UpstreamLoginSettings?
    /// The SQLite database of the store, unless ``postgres`` is set.
    public var databasePath = "hub_data/hub.db"
    /// The PostgreSQL store, when `HUB_DATABASE_URL` names one.
    public var postgres: PostgresSettings?
    /// The key file that seals the authorization server's signing keys when no
    /// `GATEHOUSE_SECRET_KEY` is set; `nil` is `gatehouse.key` beside the database.
    public var keyFilePath: String?
    /// Per-user tools and their secrets.
    public var hub = HubSettings()
    /// Limits on calls to the MCP endpoint.
    public var rateLimits = RateLimitSettings()
    /// The metrics listener and the audit log.
    public var operations = OperationsSettings()
    /// Native TLS; `nil` serves plain HTTP (behind a TLS proxy in production).
    public var tls: TLSSettings?

    public init() {}

    /// True when the server listens only on a loopback interface.
    public var isBoundToLoopback: Bool { HostName.isLoopback(host) }

    /// The canonical URL of the MCP endpoint (RFC 8707 resource identifier, RFC 9728 `resource`),
    /// and the default audience of accepted tokens.
    public var resourceURL: String { baseURL().url(for: mcpPath) }

    /// The embedded authorization server's issuer: the public base URL, path prefix included.
    public var issuerURL: String { baseURL().description }

    /// Where the store is, for messages: the PostgreSQL URL (without password) or the SQLite file.
    public var storeLocation: String { postgres?.redactedURL ?? databasePath }

    /// The key file the authorization server seals its secrets with when no secret key is set.
    public var sealingKeyFile: String {
        keyFilePath ?? ((databasePath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("gatehouse.key")
    }

    /// The public base URL: the configured one, or one derived from the bind address (https
    /// when the server serves TLS itself).
    public func baseURL(boundPort: Int? = nil) -> PublicBaseURL {
        if let explicitBaseURL { return explicitBaseURL }
        let shownHost = HostName.isWildcard(host) ? "127.0.0.1" : host
        return PublicBaseURL(scheme: tls == nil ? "http" : "https", host: shownHost, port: boundPort ?? port, pathPrefix: "")
    }
}

extension GatehouseConfiguration {
    /// Resolves every ``Setting`` through the layers of `sources` and validates it.
    ///
    /// - Returns: the configuration and human-readable warnings to log at start-up.
    /// - Throws: the first ``ConfigurationError`` found, naming the setting and the problem.
    public static func load(from sources: ConfigurationSources) throws(ConfigurationError) -> (GatehouseConfiguration, warnings: [String]) {
        try checkKnownSettings(in: sources)
        var config = GatehouseConfiguration()
        let read = SettingReader(sources: sources)
        if let host = try read(.host, { $0.trimmingCharacters(in: .whitespaces) }) {
            guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || $0 == "/" }) else {
                throw read.error(.host, "expected a host name or IP address such as 127.0.0.1 or 0.0.0.0")
            }
            config.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        }
        if let port = try read(.port, { Int($0).flatMap { (0...65535).contains($0) ? $0 : nil } }) {
            config.port = port
        }
        config.explicitBaseURL = try read(.baseURL, PublicBaseURL.init(parsing:))
        if let path = try read(.mcpPath, McpPath.normalize) { config.mcpPath = path }
        if let level = try read(.logLevel, { Logger.Level(rawValue: $0.lowercased()) }) { config.logLevel = level }
        if let origins = try read(.allowedOrigins, OriginAllowList.init(parsing:)) { config.allowedOrigins = origins }
        if let bytes = try read(.maxBodyBytes, { Int($0).flatMap { $0 >= 1024 ? $0 : nil } }) {
            config.maxBodyBytes = bytes
        }
        if let seconds = try read(.sessionIdleTimeout, { Int($0).flatMap { $0 > 0 ? $0 : nil } }) {
            config.sessionIdleTimeout = .seconds(seconds)
        }
        if let count = try read(.maxSessions, { Int($0).flatMap { $0 > 0 ? $0 : nil } }) {
            config.maxSessions = count
        }
        config.connections = try ConnectionSettings.load(from: sources)
        let publicBaseIsLoopback = HostName.isLoopback(config.baseURL().host)
        config.auth = try AuthSettings.load(from: sources, publicBaseIsLoopback: publicBaseIsLoopback)
        config.authorizationServer = try EmbeddedAuthorizationSettings.load(
            from: sources, publicBaseIsLoopback: publicBaseIsLoopback && config.isBoundToLoopback)
        config.upstreamLogin = try UpstreamLoginSettings.load(from: sources)
        if let path = try read(.databasePath, { $0.isEmpty ? nil : $0 }) { config.databasePath = path }
        config.keyFilePath = try read(.keyFile, { $0.isEmpty ? nil : $0 })
        config.postgres = try PostgresSettings.load(from: sources)
        config.hub = try HubSettings.load(from: sources)
        config.rateLimits = try RateLimitSettings.load(from: sources)
        config.operations = try OperationsSettings.load(from: sources)
        config.tls = try TLSSettings.load(from: sources)
        try config.checkAudienceIsKnown(read)
        if config.postgres != nil, config.hub.secretKey == nil {
            // Every instance must open what any instance sealed: signing keys, pages, sessions.
            throw read.error(
                .databaseURL,
                "a PostgreSQL store is shared by instances, so they need the same GATEHOUSE_SECRET_KEY (openssl rand -base64 32); a key file beside a database cannot be shared")
        }
        var warnings: [String] = []
        if let upstream = config.upstreamLogin {
            if config.auth.provider != .embedded {
                warnings.append(
                    "\(upstream.clientID) is configured for sign-in through \(upstream.displayName), but tokens come from the \(config.auth.providerKind) provider: upstream sign-in applies to the embedded authorization server only")
            } else if config.authorizationServer.devAutoApprove {
                throw read.error(.devAutoApprove, "auto-approval signs people in without the upstream provider; use one or the other")
            }
        }
        return (config, warnings)
    }

    /// Tokens are checked against an audience fixed at start-up. When public URLs come from
    /// forwarded headers and no base URL is configured, that audience is unknown.
    private func checkAudienceIsKnown(_ read: SettingReader) throws(ConfigurationError) {
        switch auth.provider {
        case .none, .staticTokens: return
        case .embedded:
            if auth.trustForwardedHeaders, explicitBaseURL == nil {
                throw read.error(
                    .trustForwardedHeaders, "the embedded authorization server needs a fixed issuer: set HUB_BASE_URL")
            }
        case .authKit, .jwt, .introspection:
            if auth.trustForwardedHeaders, explicitBaseURL == nil, auth.audiences.isEmpty {
                throw read.error(
                    .trustForwardedHeaders,
                    "tokens need a fixed audience: set HUB_BASE_URL (or MCP_JWT_AUDIENCE) when trusting forwarded headers")
            }
        }
    }

    /// The settings of the account providers `GATEHOUSE_ACCOUNTS` lists (a bad list is refused
    /// when the providers are read).
    private static func accountSettings(in sources: ConfigurationSources) -> [Setting] {
        let names = (try? SettingReader(sources: sources).list(.accounts)).flatMap { $0 } ?? []
        return names.flatMap { Setting.account($0).all }
    }

    /// `--env` names no setting has are refused as probable typos.
    private static func checkKnownSettings(in sources: ConfigurationSources) throws(ConfigurationError) {
        let known = Set(
            (Setting.all + Setting.connectionSettings + Setting.authSettings + Setting.authorizationServerSettings + Setting.hubSettings
                + Setting.upstreamLoginSettings + Setting.postgresSettings + Setting.rateLimitSettings
                + Setting.operationsSettings + Setting.tlsSettings
                + accountSettings(in: sources))
                .flatMap(\.environmentNames))
        for key in sources.envOverrides.keys.sorted() where !known.contains(key) {
            throw ConfigurationError(
                key: key, layer: .envOverride,
                problem: "unknown setting; see `gatehouse hub --help` for the names Gatehouse reads")
        }
    }
}

