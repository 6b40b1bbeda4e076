import Foundation

/// Settings of the tools hub: per-user tools and their secrets.
public struct HubSettings: Sendable, Equatable {
    /// The 32-byte key (base64) that encrypts secrets in tool configurations; `nil` refuses secrets.
    public var secretKey: String?
    /// Let the `http_fetch` tool reach loopback and private addresses.
    public var allowPrivateFetches = false

    public init() {}
}

extension HubSettings {
    static func load(from sources: ConfigurationSources) throws(ConfigurationError) -> Self {
        let read = SettingReader(sources: sources)
        var settings = HubSettings()
        settings.secretKey = try read(.secretKey) { value in
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            let standard = trimmed.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            let padded = standard + String(repeating: "=", count: (4 - standard.count % 4) % 4)
            guard Data(base64Encoded: padded)?.count == 32 else {
                throw ConfigurationValueError(
                    "must be 32 random bytes in base64 (for example the output of `openssl rand -base64 32`); the value is not shown")
            }
            return trimmed
        }
        settings.allowPrivateFetches = try read.flag(.allowPrivateFetches) ?? false
        return settings
    }
}

extension Setting {
    public static let secretKey = Setting(
        name: "secretKey", environmentNames: ["GATEHOUSE_SECRET_KEY"],
        summary: "32 random bytes in base64 that encrypt secrets in users' tool configurations (openssl rand -base64 32).")
    public static let allowPrivateFetches = Setting(
        name: "allowPrivateFetches", environmentNames: ["GATEHOUSE_FETCH_ALLOW_PRIVATE"],
        summary: "true to let users' http_fetch tools reach loopback and private addresses (tests, intranets).")

    /// Every setting of the hub.
    public static let hubSettings: [Setting] = [.secretKey, .allowPrivateFetches]
}
