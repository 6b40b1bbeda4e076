import EmbedExample
import Foundation
import GatehouseCore
import Hummingbird
import Logging

// embed-example --port P: the example application, configured from the environment.
var flags: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    guard argument == "--port", let port = arguments.popFirst() else {
        FileHandle.standardError.write(Data("usage: embed-example [--port P]   (settings from the environment, as for gatehouse hub)\n".utf8))
        exit(64)
    }
    flags["port"] = port
}
let configuration: GatehouseConfiguration
do {
    configuration = try GatehouseConfiguration.load(
        from: ConfigurationSources(flags: flags, environment: ProcessInfo.processInfo.environment)).0
} catch {
    FileHandle.standardError.write(Data("embed-example: \(error)\n".utf8))
    exit(78)
}
var logger = Logger(label: "embed-example")
logger.logLevel = configuration.logLevel
try await buildApplication(configuration: configuration, logger: logger).runService()
