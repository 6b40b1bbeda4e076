import Foundation
import GatehouseCore
import GatehouseHub
import GatehouseMCP
import GatehouseServer
import Hummingbird
import Logging
import ServiceLifecycle

/// A Gatehouse application on a free loopback port, running as the CLI runs it (the guarded
/// listener, ``GracefulShutdown``), until the test ends it.
struct LiveServer {
    let port: Int
    let group: ServiceGroup
    let finished: Task<Duration, any Error>

    /// Starts a hub without authentication, configured by the settings in `env`, with the
    /// built-in tools and `extraTools`.
    static func start(env: [String: String], extraTools: [MCPTool] = []) async throws -> LiveServer {
        var (configuration, _) = try GatehouseConfiguration.load(
            from: ConfigurationSources(flags: ["port": "0", "providerType": "none"], environment: env))
        configuration.logLevel = .warning
        let server = GatehouseServer(configuration: configuration, tools: BuiltinTools.all + extraTools)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "live")
        logger.logLevel = .warning
        let app = server.application(logger: logger) { port in continuation.yield(port) }
        let group = GracefulShutdown.serviceGroup(running: app, timeout: configuration.connections.shutdownTimeout, signals: [], logger: logger)
        let finished = Task {
            let start = ContinuousClock.now
            try await group.run()
            return ContinuousClock.now - start
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        return LiveServer(port: port, group: group, finished: finished)
    }

    /// `GET /healthz` on a fresh connection: the status line, or `nil` when no answer came within `limit`.
    func health(within limit: Duration = .seconds(5)) async throws -> String? {
        let connection = try await RawConnection.open(port: port)
        try await connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        _ = await connection.closed(within: limit)
        await connection.close()
        return connection.received.split(separator: "\r\n").first.map(String.init)
    }

    /// Triggers a graceful shutdown and returns how long it took to finish.
    func stop() async throws -> Duration {
        let requested = ContinuousClock.now
        await group.triggerGracefulShutdown()
        _ = try await finished.value
        return ContinuousClock.now - requested
    }
}
