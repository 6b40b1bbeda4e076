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
            Serves the built-in tools (echo, add, whoami) at http://HOST:PORT/mcp. Clients may use the \
            stateless 2026-07-28 protocol (server/discover, no sessions) or initialize a session with \
            2025-11-25, 2025-06-18, 2025-03-26 or 2024-11-05.

            Settings are resolved in this order: flags, then --env KEY=VALUE, then the environment, then \
            the .env file, then defaults. Invalid settings stop start-up with one line naming the setting. \
            Other settings: GATEHOUSE_MAX_BODY_BYTES (default 1048576), GATEHOUSE_SESSION_IDLE_TIMEOUT \
            (seconds, default 3600), GATEHOUSE_MAX_SESSIONS (default 10000). See docs/configuration.md.

            This version has no authentication yet: anyone who can reach the port can call the tools, so it \
            listens on 127.0.0.1 unless told otherwise.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration: GatehouseConfiguration
        let warnings: [String]
        do {
            (configuration, warnings) = try options.load()
        } catch {
            printError("gatehouse: \(error)")
            throw ExitCode(78)  // EX_CONFIG
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        let logger = Logger(label: "gatehouse")
        for warning in warnings { logger.warning("\(warning)") }
        if !configuration.isBoundToLoopback {
            logger.warning(
                "listening on \(configuration.host) without authentication: anyone who can reach this port can call the tools")
        }

        let server = GatehouseServer(configuration: configuration, tools: BuiltinTools.all)
        let app = server.application(logger: logger) { port in
            let banner = Banner(configuration: configuration, boundPort: port, tools: server.tools.tools.map(\.name))
            FileHandle.standardOutput.write(Data((banner.text + "\n").utf8))
        }
        do {
            try await app.runService()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            printError(
                "gatehouse: port \(configuration.port) on \(configuration.host) is already in use; "
                    + "stop the other server or choose another port with --port or HUB_PORT")
            throw ExitCode.failure
        } catch {
            printError("gatehouse: cannot serve on \(configuration.host):\(configuration.port): \(error)")
            throw ExitCode.failure
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
