import Foundation

/// Browser origins allowed to call the server, beyond those always allowed.
///
/// MCP Streamable HTTP transport, "Security Warning" (2025-06-18 §2.0.1, 2025-11-25):
/// servers MUST validate the `Origin` header on all incoming connections to prevent
/// DNS rebinding attacks, and respond 403 when it is present and invalid.
public struct OriginAllowList: Sendable, Equatable {
    /// Normalised origins (`scheme://host[:port]`, lowercase, default port dropped).
    public private(set) var origins: Set<String> = []
    /// `*` was configured: any origin is accepted.
    public private(set) var allowsAny = false

    public init() {}

    /// Parses a comma-separated list such as `https://app.example.com, http://localhost:5173` or `*`.
    public init(parsing text: String) throws {
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            if entry == "*" {
                allowsAny = true
            } else if let origin = Self.normalize(entry) {
                origins.insert(origin)
            } else {
                throw ConfigurationValueError(
                    "cannot use origin \"\(entry.prefix(64))\"; expected scheme://host[:port] such as https://app.example.com, or *")
            }
        }
    }

    /// Normalises an `Origin` header value, or returns `nil` when it is not a `scheme://host[:port]` origin.
    public static func normalize(_ value: String) -> String? {
        guard let components = URLComponents(string: value), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased(), !host.isEmpty,
            components.path.isEmpty || components.path == "/", components.query == nil, components.user == nil
        else { return nil }
        let defaultPort = ["http": 80, "https": 443][scheme]
        if let port = components.port, port != defaultPort { return "\(scheme)://\(host):\(port)" }
        return "\(scheme)://\(host)"
    }
}
