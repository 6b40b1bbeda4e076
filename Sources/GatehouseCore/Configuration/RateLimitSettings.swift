import Foundation

/// Limits on calls to the MCP endpoint, counted in the store's ``RateCounter`` (shared by the
/// instances on PostgreSQL). Every limit is off unless set.
public struct RateLimitSettings: Sendable, Equatable {
    /// Requests one user may make (an anonymous caller: one address, an IPv6 /64).
    public var perUser: RateLimit?
    /// Requests all users of one OAuth client together may make.
    public var perClient: RateLimit?
    /// `tools/call`s of one tool by one user, by tool name.
    public var perTool: [String: RateLimit] = [:]

    public init() {}

    /// True when no limit is set (the middleware is left out).
    public var isEmpty: Bool { perUser == nil && perClient == nil && perTool.isEmpty }
}

extension RateLimitSettings {
    static func load(from sources: ConfigurationSources) throws(ConfigurationError) -> Self {
        let read = SettingReader(sources: sources)
        var settings = RateLimitSettings()
        let expected = "expected N/s, N/min, N/hour or N/day with N at least 1, e.g. 600/min, or off"
        settings.perUser = try read(.rateLimitPerUser) { text in try Self.limit(text, expected) } ?? nil
        settings.perClient = try read(.rateLimitPerClient) { text in try Self.limit(text, expected) } ?? nil
        settings.perTool = try read(.rateLimitPerTool) { text in try Self.perTool(text, expected) } ?? [:]
        return settings
    }

    /// A limit, or `nil` for `off`.
    private static func limit(_ text: String, _ expected: String) throws(ConfigurationValueError) -> RateLimit?? {
        if ["off", "0", ""].contains(text.trimmingCharacters(in: .whitespaces).lowercased()) { return .some(nil) }
        guard let limit = RateLimit(parsing: text) else { throw ConfigurationValueError(expected) }
        return .some(limit)
    }

    /// `tool=N/min,other=N/hour`.
    private static func perTool(_ text: String, _ expected: String) throws(ConfigurationValueError) -> [String: RateLimit] {
        var limits: [String: RateLimit] = [:]
        for entry in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, let limit = RateLimit(parsing: parts[1]) else {
                throw ConfigurationValueError("\"\(entry)\": expected TOOL=LIMIT pairs separated by commas, e.g. http_fetch=30/min; \(expected)")
            }
            limits[parts[0]] = limit
        }
        return limits
    }
}

extension Setting {
    public static let rateLimitPerUser = Setting(
        name: "rateLimitPerUser", flag: "rate-limit-user", environmentNames: ["GATEHOUSE_RATE_LIMIT_USER"],
        summary: "Requests to the MCP endpoint one user may make, e.g. 600/min (anonymous callers: per address; default off).")
    public static let rateLimitPerClient = Setting(
        name: "rateLimitPerClient", flag: "rate-limit-client", environmentNames: ["GATEHOUSE_RATE_LIMIT_CLIENT"],
        summary: "Requests to the MCP endpoint all users of one OAuth client may make together, e.g. 6000/min (default off).")
    public static let rateLimitPerTool = Setting(
        name: "rateLimitPerTool", flag: "rate-limit-tools", environmentNames: ["GATEHOUSE_RATE_LIMIT_TOOLS"],
        summary: "Calls of a tool one user may make, e.g. http_fetch=30/min,notes_add=100/hour (default off).")

    /// Every rate-limit setting.
    public static let rateLimitSettings: [Setting] = [.rateLimitPerUser, .rateLimitPerClient, .rateLimitPerTool]
}
