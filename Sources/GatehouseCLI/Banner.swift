import GatehouseCore

/// The short start-up text: where the endpoint is and how to connect to it.
struct Banner {
    let configuration: GatehouseConfiguration
    let boundPort: Int
    let tools: [String]

    var text: String {
        let base = configuration.baseURL(boundPort: boundPort)
        let endpoint = base.url(for: configuration.mcpPath)
        return """
            Gatehouse \(Gatehouse.version) hub is running.
              MCP endpoint  \(endpoint)
              protocols     2026-07-28 (stateless) · 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05 (sessions)
              discovery     POST server/discover to the endpoint (2026-07-28); OAuth metadata comes with a token provider
              health        \(base.url(for: "/healthz"))
              tools         \(tools.joined(separator: ", "))
              auth          none: every caller is anonymous
            Connect:
              claude mcp add --transport http gatehouse \(endpoint)
              python: async with mcp.Client("\(endpoint)") as client: ...
            Press Ctrl-C to stop.
            """
    }
}
