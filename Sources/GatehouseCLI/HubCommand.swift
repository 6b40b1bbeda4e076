import ArgumentParser
import Foundation
import GatehouseCore
import GatehouseHub
import GatehouseServer
import Logging
import NIOCore

struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract: "Serve the Gatehouse tools hub over MCP Streamable HTTP.",
        discussion: """
            Serves MCP at http://HOST:PORT/mcp. Clients may use the stateless 2026-07-28 protocol \
            (server/discover, no sessions) or initialize a session with 2025-11-25, 2025-06-18, 2025-03-26 \
            or 2024-11-05.

            Every caller is a user, recorded in the SQLite store (--database-path) on their first request. \
            Each has the built-in tools (echo, add, whoami, wait) and the management tools (list_available_tools, \
            add_tool, remove_tool, list_my_tools, configure_tool) with which they add notes, memory or \
            http_fetch to their own account. Secrets in tool configurations are encrypted with \
            GATEHOUSE_SECRET_KEY. See docs/hub.md.

            Settings are resolved in this order: flags, then --env KEY=VALUE, then the environment, then \
            the .env file, then defaults. Invalid settings stop start-up with one line naming the setting. \
            Other settings (introspection, static development tokens, leeway, JWKS cache, limits) are \
            environment-only; see docs/configuration.md.

            Authentication: with no provider configured, the hub is its own OAuth 2.1 authorization server \
            on the same port (issuer http://HOST:PORT): metadata, JWKS, dynamic client registration, Client \
            ID Metadata Documents, PKCE and refresh-token rotation, with users from `gatehouse idp add-user` \
            and data in the SQLite store (--database-path). --dev-auto-approve signs everyone in as a dev \
            user without a page (loopback only). To use another provider set WORKOS_AUTHKIT_DOMAIN (AuthKit), \
            MCP_JWT_ISSUER (any JWT issuer), MCP_INTROSPECTION_URL (opaque tokens) or MCP_PROVIDER_TYPE=static \
            with MCP_STATIC_TOKENS; --provider none serves every caller anonymously.
            
            Example:
              gatehouse hub
              gatehouse hub --env WORKOS_AUTHKIT_DOMAIN=https://your-project-12345.authkit.app --base-url https://mcp.example.com
            """
    )

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let (configuration, logger) = try ServeSupport.start(options)
        if !configuration.isBoundToLoopback && !configuration.auth.isEnabled {
            logger.warning(
                "listening on \(configuration.host) without authentication: anyone who can reach this port can call the tools")
        }
        let server: GatehouseServer
        do {
            server = try await GatehouseServer.make(configuration: configuration, tools: BuiltinTools.all, logger: logger)
        } catch {
            printError("gatehouse: cannot start: \(error)")
            throw ExitCode.failure
        }
        let app = server.application(logger: logger) { port in
            let banner = Banner(server: server, boundPort: port)
            ServeSupport.announce(banner.text + "\n", configuration: configuration)
        }
        try await ServeSupport.run(app, configuration: configuration, logger: logger)
    }
}
