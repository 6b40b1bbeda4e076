import ArgumentParser
import Foundation
import GatehouseCore
import GatehouseGateway
import GatehouseServer

struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Put Gatehouse's OAuth in front of existing MCP servers, one or several joined.",
        discussion: """
            Serves one MCP endpoint at http://HOST:PORT/mcp (every protocol revision, like `gatehouse hub`) \
            whose tools, prompts and resources are those of the upstream MCP servers you name. Clients \
            authenticate to Gatehouse; upstreams never see the client's token.

            --upstream NAME=URL is a Streamable HTTP server (stateless clients are served with 2026-07-28 \
            where its server/discover offers it; downstream sessions get upstream sessions of their own). --upstream NAME=sse:URL is a server on the \
            HTTP+SSE transport of 2024-11-05. --upstream 'NAME=stdio:COMMAND ARGS' is a stdio server that \
            Gatehouse starts, restarts with backoff when it exits and stops on shutdown (quote the whole \
            value; its stderr goes to the log). --config FILE adds upstreams with their protocol, identity \
            toward the upstream (none, jwt, exchange, static, headers), timeout and access rules.

            Names: tool and prompt `search` of upstream `docs` is `docs_search` (names stay within \
            ^[a-zA-Z0-9_-]{1,64}$; longer or unusual ones get a hash suffix); resource `file:///a` is \
            `gatehouse+docs:file:///a`. One upstream may be "transparent": true in the file, keeping its names.

            Authentication is the hub's: by default the embedded OAuth authorization server on the same \
            port; WORKOS_AUTHKIT_DOMAIN, MCP_JWT_ISSUER, MCP_INTROSPECTION_URL or MCP_PROVIDER_TYPE=static for \
            another provider; --provider none for none. GET /healthz lists each upstream as up, down or \
            unknown. See docs/gateway.md.

            Example:
              gatehouse gateway --upstream docs=http://127.0.0.1:9000/mcp --upstream 'files=stdio:python3 files.py'
            """
    )

    @Option(name: .customLong("upstream"), help: ArgumentHelp("An upstream: NAME=URL, NAME=sse:URL or NAME=stdio:COMMAND ARGS (repeatable).", valueName: "name=target"))
    var upstreams: [String] = []

    @Option(name: .customLong("config"), help: ArgumentHelp("A JSON file of upstreams and their policies (docs/gateway.md).", valueName: "file"))
    var configFile: String?

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let (configuration, logger) = try ServeSupport.start(options)
        let specs: [UpstreamSpec]
        do {
            specs = try loadUpstreams()
        } catch {
            printError("gatehouse: \(error)")
            throw ExitCode(78)  // EX_CONFIG
        }
        if !configuration.isBoundToLoopback && !configuration.auth.isEnabled {
            logger.warning(
                "listening on \(configuration.host) without authentication: anyone who can reach this port can use the upstreams")
        }
        let server: GatehouseServer
        do {
            server = try await GatehouseServer.gateway(configuration: configuration, upstreams: specs, logger: logger)
        } catch {
            printError("gatehouse: cannot start: \(error)")
            throw ExitCode.failure
        }
        let app = server.application(logger: logger) { port in
            let banner = Banner(server: server, boundPort: port, upstreams: specs.map { "\($0.name): \(Self.describe($0))" })
            ServeSupport.announce(banner.text + "\n", configuration: configuration)
        }
        try await ServeSupport.run(app, configuration: configuration, logger: logger)
    }

    private func loadUpstreams() throws(GatewayConfigurationError) -> [UpstreamSpec] {
        // Upstream secrets (static credentials, exchange client secrets) come from the process
        // environment, never from the file or the command line.
        let environment = ProcessInfo.processInfo.environment
        var specs = try configFile.map { path throws(GatewayConfigurationError) in try GatewayConfigurationFile.load(path: path, environment: environment) } ?? []
        for flag in upstreams { specs.append(try UpstreamSpec(flag: flag)) }
        try specs.validateTogether()
        return specs
    }

    private static func describe(_ spec: UpstreamSpec) -> String {
        let target: String = switch spec.transport {
        case .streamableHTTP(let url): url
        case .legacySSE(let url): "HTTP+SSE (2024-11-05) " + url
        case .stdio(let command): "stdio: " + ([command.executable] + command.arguments).joined(separator: " ")
        }
        return target + (spec.transparent ? " (transparent)" : "") + ", identity \(spec.identity)"
    }
}
