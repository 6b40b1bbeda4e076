import Foundation

/// Settings of the tools hub: per-user tools and their secrets.
public struct HubSettings: Sendable, Equatable {
    /// The 32-byte key that encrypts secrets at rest; `nil` refuses secrets in tool configurations.
    public var secretKey: Data?
    /// Let the `http_fetch` tool reach loopback and private addresses.
    public var allowPrivateFetches = false
    /// Let users connect their own remote MCP servers (`connect_mcp_server`).
    public var connections = false
    /// Let those servers be on loopback and private addresses.
    public var allowPrivateConnections = false
    /// Emails of the people who see the administrator view of `/hub` (lowercased).
    public var administrators: Set<String> = []
    /// The OAuth providers users may connect their own accounts at, for their tools.
    public var accounts: [AccountProvider] = []

    public init() {}
}

extension HubSettings {
    static func load(from sources: ConfigurationSources) throws(ConfigurationError) -> Self {
        let read = SettingReader(sources: sources)
        var settings = HubSettings()
        settings.secretKey = try read(.secretKey) { value in
            guard let key = secretKey(base64: value) else {
                throw ConfigurationValueError(
                    "must be 32 random bytes in base64 (for example the output of `openssl rand -base64 32`); the value is not shown")
            }
            return key
        }
        settings.allowPrivateFetches = try read.flag(.allowPrivateFetches) ?? false
        settings.connections = try read.flag(.connections) ?? false
        settings.allowPrivateConnections = try read.flag(.allowPrivateConnections) ?? false
        settings.administrators = try read(.hubAdministrators) { value in
            Set(value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty })
        } ?? []
        settings.accounts = try AccountProvider.load(from: sources)
        return settings
    }

    /// The 32 bytes of a `GATEHOUSE_SECRET_KEY` value (standard or URL-safe base64, padding
    /// optional), or `nil` when it is not one.
    public static func secretKey(base64 text: String) -> Data? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let standard = trimmed.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let padded = standard + String(repeating: "=", count: (4 - standard.count % 4) % 4)
        guard let bytes = Data(base64Encoded: padded), bytes.count == 32 else { return nil }
        return bytes
    }
}

extension Setting {
    public static let secretKey = Setting(
        name: "secretKey", environmentNames: ["GATEHOUSE_SECRET_KEY"],
        summary: "32 random bytes in base64 that encrypt secrets in users' tool configurations (openssl rand -base64 32).")
    public static let allowPrivateFetches = Setting(
        name: "allowPrivateFetches", environmentNames: ["GATEHOUSE_FETCH_ALLOW_PRIVATE"],
        summary: "true to let users' http_fetch tools reach loopback and private addresses (tests, intranets).")

    public static let connections = Setting(
        name: "connections", environmentNames: ["GATEHOUSE_CONNECTIONS"],
        summary:
            "true to let hub users connect their own remote MCP servers (connect_mcp_server); needs GATEHOUSE_SECRET_KEY and the embedded authorization server.")
    public static let allowPrivateConnections = Setting(
        name: "allowPrivateConnections", environmentNames: ["GATEHOUSE_CONNECTIONS_ALLOW_PRIVATE"],
        summary: "true to let users connect MCP servers on loopback and private addresses (tests, intranets).")

    public static let hubAdministrators = Setting(
        name: "hubAdministrators", environmentNames: ["GATEHOUSE_HUB_ADMINS"],
        summary: "Comma-separated emails of the people who see the administrator view of the /hub page (every user and their activity).")

    /// Every setting of the hub.
    public static let hubSettings: [Setting] = [
        .secretKey, .allowPrivateFetches, .connections, .allowPrivateConnections, .hubAdministrators, .accounts,
    ]
}
