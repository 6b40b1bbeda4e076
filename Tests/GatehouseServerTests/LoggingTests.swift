import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseServer
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// A log handler that keeps every rendered line, metadata included.
final class CapturingLogHandler: LogHandler, Sendable {
    let lines = Mutex<[String]>([])
    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    func log(event: LogEvent) {
        lines.withLock { $0.append("\(event.message) \(event.metadata ?? [:])") }
    }
}

@Suite("Logging")
struct LoggingTests {
    @Test func tokensNeverReachTheLog() async throws {
        let handler = CapturingLogHandler()
        let logger = Logger(label: "test") { _ in handler }
        let (configuration, _) = try GatehouseConfiguration.load(
            from: ConfigurationSources(environment: ["MCP_PROVIDER_TYPE": "static", "MCP_STATIC_TOKENS": "sekret-token:c:alice"]))
        guard case .staticTokens(let tokens) = configuration.auth.provider else { throw TestFailure("no static provider") }
        let server = GatehouseServer(
            configuration: configuration,
            authenticator: Authenticator(settings: configuration.auth, verifier: StaticTokenVerifier(tokens: tokens), providerMetadata: nil))
        let app = Application(router: server.router(), logger: logger)
        try await app.test(.router) { client in
            let headers: HTTPFields = [.contentType: "application/json", .accept: "application/json"]
            try await client.execute(uri: "/mcp?access_token=sekret-query", method: .post, headers: headers, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .badRequest)
            }
            for token in ["sekret-token", "sekret-wrong"] {
                var withToken = headers
                withToken[.authorization] = "Bearer \(token)"
                try await client.execute(uri: "/mcp", method: .post, headers: withToken, body: ByteBuffer(string: "{}")) { _ in }
            }
        }
        let lines = handler.lines.withLock { $0 }
        #expect(lines.contains { $0.contains("http.path") }, "requests are logged at debug level")
        #expect(!lines.contains { $0.contains("sekret") }, "a token reached the log: \(lines.filter { $0.contains("sekret") })")
    }
}
