/// Decides whether a request's `Origin` header is acceptable.
///
/// MCP Streamable HTTP transport (2025-11-25, "Security Warning"): servers MUST
/// validate `Origin`; if it is present and invalid they MUST answer 403 Forbidden.
/// A request without `Origin` (every non-browser client) is not a cross-origin
/// browser request and passes.
public struct OriginPolicy: Sendable {
    private let allowList: OriginAllowList
    private let ownOrigin: String
    private let allowsLocalhost: Bool

    /// - Parameters:
    ///   - allowList: origins configured with `GATEHOUSE_ALLOWED_ORIGINS`.
    ///   - baseURL: the public base URL; its own origin is always allowed.
    ///   - allowsLocalhost: allow `localhost`/loopback origins on any port, which is
    ///     right when the server itself only listens on loopback.
    public init(allowList: OriginAllowList, baseURL: PublicBaseURL, allowsLocalhost: Bool) {
        self.allowList = allowList
        self.ownOrigin = baseURL.origin
        self.allowsLocalhost = allowsLocalhost
    }

    public init(configuration: GatehouseConfiguration) {
        self.init(
            allowList: configuration.allowedOrigins, baseURL: configuration.baseURL(),
            allowsLocalhost: configuration.isBoundToLoopback)
    }

    /// True when a request carrying `origin` (or none) may proceed.
    public func allows(origin: String?) -> Bool {
        guard let origin else { return true }
        if allowList.allowsAny { return true }
        guard let normalized = OriginAllowList.normalize(origin) else { return false }
        if normalized == ownOrigin || allowList.origins.contains(normalized) { return true }
        if allowsLocalhost, let host = normalized.split(separator: "/").last?.split(separator: ":").first {
            return HostName.isLoopback(String(host))
        }
        return false
    }
}
