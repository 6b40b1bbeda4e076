import GatehouseCore
import HTTPTypes
import Hummingbird

/// The one place that decides this server's public URLs for a request: the MCP endpoint
/// (the canonical resource URL) and its protected-resource metadata document.
struct PublicURLs: Sendable {
    let configuration: GatehouseConfiguration

    private static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    private static let forwardedHost = HTTPField.Name("X-Forwarded-Host")!

    /// The configured base URL; else, when enabled, the one a trusted proxy forwarded; else
    /// the one derived from the bind address. Forwarded headers are ignored unless trusted,
    /// because any client can send them.
    func base(for request: Request) -> PublicBaseURL {
        if let explicit = configuration.explicitBaseURL { return explicit }
        if configuration.auth.trustForwardedHeaders, let host = request.headers[Self.forwardedHost] {
            let scheme = request.headers[Self.forwardedProto]?.split(separator: ",").first.map(String.init) ?? "http"
            if let forwarded = try? PublicBaseURL(parsing: "\(scheme.lowercased())://\(host)") { return forwarded }
        }
        return configuration.baseURL()
    }

    /// The MCP endpoint's canonical URL under `base`.
    func resource(_ base: PublicBaseURL) -> String { base.url(for: configuration.mcpPath) }

    /// RFC 9728 §3.1: the well-known segment goes between the host and the resource's path.
    func resourceMetadata(_ base: PublicBaseURL) -> String {
        base.origin + Self.metadataPath + base.pathPrefix + configuration.mcpPath
    }

    static let metadataPath = "/.well-known/oauth-protected-resource"
}
