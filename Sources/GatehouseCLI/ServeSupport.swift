import ArgumentParser
import Foundation
import GatehouseCore
import GatehouseServer
import Hummingbird
import Logging
import NIOCore

/// What every serving command does around its application: resolve the configuration,
/// set up logging, and run until SIGINT/SIGTERM with a clear message when the port is taken.
enum ServeSupport {
    /// Resolves the configuration (exit 78 with one line on error) and bootstraps logging.
    static func load(_ options: ConfigurationOptions) throws -> (GatehouseConfiguration, Logger) {
        let configuration: GatehouseConfiguration
        let warnings: [String]
        do {
            (configuration, warnings) = try options.load()
        } catch {
            printError("gatehouse: \(error)")
            throw ExitCode(78)  // EX_CONFIG
        }
        LoggingSystem.bootstrap { label in StandardErrorLogHandler(label: label, logLevel: configuration.logLevel) }
        let logger = Logger(label: "gatehouse")
        for warning in warnings { logger.warning("\(warning)") }
        return (configuration, logger)
    }

    /// What a serving command does first: ``load(_:)``, then picks the port, checks the TLS files and bootstraps
    /// the metrics (with `--metrics-port`) and the audit log (with `--audit-log`); exit 78 with
    /// one line when one of them cannot be used.
    /// `--port 0` becomes a free port first, so the public URLs name the port served.
    static func start(_ options: ConfigurationOptions) throws -> (GatehouseConfiguration, Logger) {
        var (configuration, logger) = try load(options)
        if configuration.port == 0 {
            do {
                configuration.port = try FreePort.pick(host: configuration.host)
            } catch {
                printError("gatehouse: \(error); choose a port with --port or HUB_PORT")
                throw ExitCode(78)
            }
        }
        if let tls = configuration.tls {
            do {
                try ServerTLS.check(tls)
            } catch {
                printError("gatehouse: \(error)")
                throw ExitCode(78)
            }
        }
        if configuration.operations.metricsPort != nil { MetricsListener.bootstrap() }
        if let path = configuration.operations.auditLogPath {
            do {
                AuditLog.bootstrap(try JSONLinesAuditSink(path: path), toolArguments: configuration.operations.auditToolArguments)
            } catch {
                printError("gatehouse: \(error); check GATEHOUSE_AUDIT_LOG (--audit-log)")
                throw ExitCode(78)
            }
        }
        return (configuration, logger)
    }

    /// Prints the start-up banner: on standard output, unless the audit log goes there
    /// (`--audit-log -`), which then holds nothing but its JSON lines.
    static func announce(_ text: String, configuration: GatehouseConfiguration) {
        let stream = configuration.operations.auditLogPath == "-" ? FileHandle.standardError : FileHandle.standardOutput
        stream.write(Data(text.utf8))
    }

    /// Runs `app` until SIGTERM or SIGINT, then shuts down within `GATEHOUSE_SHUTDOWN_TIMEOUT`
    /// (``GracefulShutdown``).
    static func run(_ app: some ApplicationProtocol, configuration: GatehouseConfiguration, logger: Logger) async throws {
        let group = GracefulShutdown.serviceGroup(running: app, timeout: configuration.connections.shutdownTimeout, logger: logger)
        do {
            try await group.run()
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
