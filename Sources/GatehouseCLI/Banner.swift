import GatehouseCore
import GatehouseServer

/// The short start-up text: where the endpoint is, how it is protected and how to connect.
struct Banner {
    let server: GatehouseServer
    let boundPort: Int
    /// For a gateway: one line per upstream, shown instead of the tools.
    var upstreams: [String] = []

    var text: String {
        let configuration = server.configuration
        let base = configuration.baseURL(boundPort: boundPort)
        let endpoint = base.url(for: configuration.mcpPath)
        var lines = [
            "Gatehouse \(Gatehouse.version) \(server.gateway == nil ? "hub" : "gateway") is running.",
            "  MCP endpoint  \(endpoint)",
            "  protocols     2026-07-28 (stateless) · 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05 (sessions)",
        ]
        if server.protectedResource != nil {
            lines.append("  discovery     \(base.origin)/.well-known/oauth-protected-resource\(base.pathPrefix)\(configuration.mcpPath)")
        }
        lines.append("  health        \(base.url(for: "/healthz"))")
        if server.hubPage != nil {
            lines.append("  your page     \(base.url(for: "/hub")) (tools\(server.connections == nil ? "" : ", MCP servers"), client snippets)")
        }
        if server.gateway == nil {
            lines.append("  tools         \(server.tools.tools.map(\.name).joined(separator: ", "))")
        } else {
            lines += upstreams.map { "  upstream      \($0)" }
        }
        lines.append("  auth          \(Self.describe(configuration.auth))")
        if configuration.auth.provider == .embedded {
            lines.append("  issuer        \(configuration.issuerURL) (clients open its sign-in page themselves)")
            let sealing = configuration.hub.secretKey == nil ? configuration.sealingKeyFile : "GATEHOUSE_SECRET_KEY"
            lines.append("  store         \(configuration.storeLocation) (signing keys sealed with \(sealing))")
            lines.append(
                configuration.authorizationServer.devAutoApprove
                    ? "  dev mode      every sign-in is approved as \(configuration.authorizationServer.devUser) without a page"
                    : "  users         add one with: gatehouse idp add-user you@example.com\(Self.storeFlags(configuration))")
        }
        lines += [
            "Connect:",
            "  claude mcp add --transport http gatehouse \(endpoint)",
            "  python: async with mcp.Client(\"\(endpoint)\") as client: ...",
            "Press Ctrl-C to stop.",
        ]
        return lines.joined(separator: "\n")
    }

    /// The flags that make a store command find this hub's store, when it is not the default.
    static func storeFlags(_ configuration: GatehouseConfiguration) -> String {
        guard configuration.databasePath != GatehouseConfiguration().databasePath else { return "" }
        return " --database-path '\(configuration.databasePath.replacingOccurrences(of: "'", with: "'\\''"))'"
    }

    static func describe(_ auth: AuthSettings) -> String {
        let scopes = auth.requiredScopes.isEmpty ? "" : "; required scopes: \(auth.requiredScopes.joined(separator: " "))"
        switch auth.provider {
        case .none: return "none: every caller is anonymous"
        case .embedded: return "embedded authorization server (OAuth 2.1, PKCE, DCR, Client ID Metadata Documents)\(scopes)"
        case .authKit(let domain): return "AuthKit \(domain) (JWTs via JWKS, opaque tokens via userinfo)\(scopes)"
        case .jwt(let issuer, _): return "JWT access tokens from \(issuer)\(scopes)"
        case .introspection(let settings): return "token introspection at \(settings.endpoint)\(scopes)"
        case .staticTokens(let tokens): return "\(tokens.count) static development token(s): never use these in production\(scopes)"
        }
    }
}
