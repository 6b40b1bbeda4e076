import Foundation

/// How long the server waits on a client, and how many clients it holds at once: the bounds
/// that keep slow or idle peers from holding connections, descriptors or shutdown hostage.
public struct ConnectionSettings: Sendable, Equatable {
    /// From the first byte of a request until its head is complete.
    public var requestHeadTimeout: Duration = .seconds(30)
    /// From a request's head until its body is complete.
    public var requestBodyTimeout: Duration = .seconds(60)
    /// How long a connection may sit idle between requests (keep-alive).
    public var idleTimeout: Duration = .seconds(60)
    /// Most connections held at once; at the cap a newcomer replaces the connection idle longest,
    /// and waits in the listen backlog only when all are busy. `nil` is derived
    /// from the process's descriptor limit at start-up.
    public var maxConnections: Int?
    /// How long a graceful shutdown waits for requests in progress before closing what is left.
    public var shutdownTimeout: Duration = .seconds(10)

    public init() {}
}

extension ConnectionSettings {
    static func load(from sources: ConfigurationSources) throws(ConfigurationError) -> Self {
        let read = SettingReader(sources: sources)
        var settings = ConnectionSettings()
        if let value = try read(.requestHeadTimeout, Self.seconds) { settings.requestHeadTimeout = value }
        if let value = try read(.requestBodyTimeout, Self.seconds) { settings.requestBodyTimeout = value }
        if let value = try read(.idleTimeout, Self.seconds) { settings.idleTimeout = value }
        if let value = try read(.shutdownTimeout, Self.seconds) { settings.shutdownTimeout = value }
        settings.maxConnections = try read(.maxConnections) { Int($0).flatMap { $0 >= 1 ? $0 : nil } }
        return settings
    }

    /// A positive number of seconds, fractions allowed (`0.5`), at most a day.
    private static func seconds(_ text: String) -> Duration? {
        guard let value = Double(text), value > 0, value <= 86_400 else { return nil }
        return .milliseconds(Int64((value * 1000).rounded()))
    }
}

extension Setting {
    public static let requestHeadTimeout = Setting(
        name: "requestHeadTimeout", environmentNames: ["GATEHOUSE_REQUEST_HEAD_TIMEOUT"],
        summary: "Seconds from a request's first byte until its head must be complete (default 30).")
    public static let requestBodyTimeout = Setting(
        name: "requestBodyTimeout", environmentNames: ["GATEHOUSE_REQUEST_BODY_TIMEOUT"],
        summary: "Seconds from a request's head until its body must be complete (default 60).")
    public static let idleTimeout = Setting(
        name: "idleTimeout", environmentNames: ["GATEHOUSE_IDLE_TIMEOUT"],
        summary: "Seconds a keep-alive connection may sit idle between requests (default 60).")
    public static let maxConnections = Setting(
        name: "maxConnections", environmentNames: ["GATEHOUSE_MAX_CONNECTIONS"],
        summary: "Most connections held at once; at the cap a newcomer replaces the connection idle longest (default: the descriptor limit less a reserve, at most 10000).")
    public static let shutdownTimeout = Setting(
        name: "shutdownTimeout", environmentNames: ["GATEHOUSE_SHUTDOWN_TIMEOUT"],
        summary: "Seconds a graceful shutdown waits for requests in progress before closing the rest (default 10).")

    /// Every connection setting.
    public static let connectionSettings: [Setting] = [
        .requestHeadTimeout, .requestBodyTimeout, .idleTimeout, .maxConnections, .shutdownTimeout,
    ]
}
