import Foundation

/// Where the PostgreSQL store is, from `HUB_DATABASE_URL` (seed 000's name) or
/// `GATEHOUSE_DATABASE_URL`: `postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=MODE`.
public struct PostgresSettings: Sendable, Equatable {
    /// libpq's `sslmode`, the subset PostgresNIO can honour.
    public enum SSLMode: String, Sendable, Equatable {
        /// Plain TCP (loopback, or a network you trust).
        case disable
        /// TLS when the server offers it, else plain (libpq's default).
        case prefer
        /// TLS, with the server's certificate verified against the system's roots.
        case require
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: SecretString?
    public var database: String
    public var sslMode: SSLMode
    /// The schema Gatehouse's tables live in (`?schema=NAME`, created when missing); `nil` is the
    /// user's default search path (`public`).
    public var schema: String?
    /// Most connections one instance opens.
    public var poolSize = 10
    /// How long connecting may take before a request fails with 503.
    public var connectTimeout: Duration = .seconds(5)

    /// The URL without its password, for logs and messages.
    public var redactedURL: String {
        "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" + (schema.map { "?schema=\($0)" } ?? "")
    }

    /// Parses a `postgres://` or `postgresql://` URL; the password may be percent-encoded.
    public init(url text: String) throws(ConfigurationValueError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            ["postgres", "postgresql"].contains(scheme), let host = components.host, !host.isEmpty
        else {
            throw ConfigurationValueError("expected postgres://USER:PASSWORD@HOST:PORT/DATABASE (the password is not shown)")
        }
        self.host = host
        port = components.port ?? 5432
        user = components.user?.removingPercentEncoding ?? "postgres"
        password = components.password.map { SecretString($0.removingPercentEncoding ?? $0) }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? user : path
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? (HostName.isLoopback(host) ? "disable" : "prefer")
        guard let sslMode = SSLMode(rawValue: mode) else {
            throw ConfigurationValueError("sslmode=\(mode.prefix(20)) is not supported; use disable, prefer or require")
        }
        self.sslMode = sslMode
        if let schema = components.queryItems?.first(where: { $0.name == "schema" })?.value {
            guard !schema.isEmpty, schema.count <= 63, schema.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw ConfigurationValueError("schema=\(schema.prefix(20)) must be letters, digits and _ (at most 63)")
            }
            self.schema = schema
        }
    }
}

extension PostgresSettings {
    static func load(from sources: ConfigurationSources) throws(ConfigurationError) -> Self? {
        let read = SettingReader(sources: sources)
        guard var settings = try read(.databaseURL, { (text) throws(ConfigurationValueError) in try PostgresSettings(url: text) }) else { return nil }
        if let size = try read(.databasePoolSize, { Int($0).flatMap { (1...500).contains($0) ? $0 : nil } }) { settings.poolSize = size }
        if let seconds = try read(.databaseConnectTimeout, { Int($0).flatMap { (1...120).contains($0) ? $0 : nil } }) {
            settings.connectTimeout = .seconds(seconds)
        }
        return settings
    }
}

extension Setting {
    public static let databaseURL = Setting(
        name: "databaseURL", flag: "database-url", environmentNames: ["GATEHOUSE_DATABASE_URL", "HUB_DATABASE_URL"],
        summary: "PostgreSQL store, postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=disable|prefer|require&schema=NAME (default: SQLite at the database path).")
    public static let databasePoolSize = Setting(
        name: "databasePoolSize", environmentNames: ["GATEHOUSE_DATABASE_POOL_SIZE"],
        summary: "Most PostgreSQL connections one instance opens (default 10).")
    public static let databaseConnectTimeout = Setting(
        name: "databaseConnectTimeout", environmentNames: ["GATEHOUSE_DATABASE_CONNECT_TIMEOUT"],
        summary: "Seconds connecting to PostgreSQL may take before a request fails with 503 (default 5).")

    /// The PostgreSQL store's settings.
    public static let postgresSettings: [Setting] = [.databaseURL, .databasePoolSize, .databaseConnectTimeout]
}
