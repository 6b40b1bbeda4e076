import Foundation
import GatehouseCore
import GatehouseEgress
import GatehouseHub
import GatehouseMCP
import GatehouseServer
import Hummingbird
import Logging
import Synchronization
import Testing

@testable import GatehouseClient

/// The client against a live `gatehouse hub` with its embedded authorization server and
/// auto-approval: the "browser" follows the authorization URL to the loopback callback.
@Suite("Client against a live hub")
struct ClientFlowTests {
    /// Runs `body` with a hub on a free loopback port.
    func withHub(
        _ flags: [String: String] = [:], tools: [MCPTool] = BuiltinTools.all, _ body: (String) async throws -> Void
    ) async throws {
        let port = try freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-client-\(UUID().uuidString)")
        var allFlags = ["port": "\(port)", "devAutoApprove": "true", "databasePath": directory.appendingPathComponent("hub.db").path]
        allFlags.merge(flags) { $1 }
        let (configuration, _) = try GatehouseConfiguration.load(from: ConfigurationSources(flags: allFlags))
        let server = try await GatehouseServer.make(configuration: configuration, tools: tools, logger: Logger(label: "test"))
        let (running, started) = AsyncStream<Void>.makeStream()
        let app = server.application(logger: Logger(label: "test")) { _ in started.yield() }
        let task = Task { try await app.run() }
        defer { task.cancel() }
        _ = await running.first(where: { _ in true })
        try await body("http://127.0.0.1:\(port)/mcp")
    }

    private func session(
        _ directory: URL, follow: Bool = true, timeout: Duration = .seconds(10), scopes: [String]? = nil
    ) -> (OAuthSession, Visits) {
        let visits = Visits()
        var options = LoginOptions()
        options.timeout = timeout
        options.scopes = scopes
        options.presentAuthorizationURL = { url in
            visits.record(url)
            guard follow else { return }
            Task {
                // The hub auto-approves with a 303 to the loopback callback; follow it once.
                guard let location = try? await EgressClient.clientDefault.send(url).headers.first(name: "Location") else { return }
                _ = try? await EgressClient.clientDefault.send(location)
            }
        }
        return (OAuthSession(cache: TokenCache(directory: directory), options: options) { _ in }, visits)
    }

    @Test func signsInCallsToolsAndReusesTheCache() async throws {
        try await withHub { url in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-cache-\(UUID().uuidString)")
            let (auth, visits) = session(directory)
            let client = MCPClient(serverURL: url, auth: auth)
            try await client.connect()
            #expect(await client.protocolVersion == "2026-07-28")
            let result = try await client.callTool("add", arguments: ["a": 2, "b": 3])
            #expect(result["structuredContent"] == ["result": 5])
            #expect(visits.count == 1)
            let query = try #require(URLComponents(string: visits.urls[0])?.queryItems)
            #expect(query.first { $0.name == "code_challenge_method" }?.value == "S256")
            #expect(query.first { $0.name == "resource" }?.value == url)

            // A second client finds the tokens in the cache: no browser.
            let again = MCPClient(serverURL: url, auth: session(directory, follow: false).0)
            try await again.connect()
            let whoami = try await again.callTool("whoami", arguments: [:])
            #expect(whoami["structuredContent"]?.objectValue?["email"] == "dev@localhost")
        }
    }

    @Test func anExpiredAccessTokenIsRefreshedWithoutTheBrowser() async throws {
        try await withHub { url in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-cache-\(UUID().uuidString)")
            let (auth, _) = session(directory)
            let client = MCPClient(serverURL: url, auth: auth)
            try await client.connect()
            // Pretend the access token expired.
            let cache = TokenCache(directory: directory)
            var stored = try #require(try cache.login(for: url))
            let oldRefresh = stored.refreshToken
            stored.expiresAt = Date().addingTimeInterval(-1)
            try cache.save(stored)
            let (noBrowser, visits) = session(directory, follow: false)
            let next = MCPClient(serverURL: url, auth: noBrowser)
            try await next.connect()
            _ = try await next.callTool("echo", arguments: ["text": "hi"])
            #expect(visits.count == 0)
            #expect(try cache.login(for: url)?.refreshToken != oldRefresh)  // rotated
        }
    }

    @Test func anInsufficientScopeStepsUpWithTheUnionOfScopes() async throws {
        let notes = MCPTool(
            name: "write_note", description: "Writes a note.", inputSchema: ["type": "object"], requiredScopes: ["notes:write"]
        ) { _, context in .text("scopes: \(context.principal.scopes.sorted().joined(separator: " "))") }
        try await withHub(tools: BuiltinTools.all + [notes]) { url in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-cache-\(UUID().uuidString)")
            // Sign in first for a scope the hub does not offer, so the token lacks notes:write.
            let (auth, visits) = session(directory, scopes: ["unknown:scope"])
            let client = MCPClient(serverURL: url, auth: auth)
            try await client.connect()
            let result = try await client.callTool("write_note", arguments: [:])
            #expect(result["isError"] == false)
            #expect(result["content"]?.arrayValue?.first?.objectValue?["text"] == "scopes: notes:write")
            #expect(visits.count == 2)  // the first login, then the step-up
            let stepUp = try #require(URLComponents(string: visits.urls[1])?.queryItems?.first { $0.name == "scope" }?.value)
            #expect(stepUp.split(separator: " ").contains("notes:write"))
        }
    }

    @Test func withoutAnyoneAtTheBrowserTheLoginTimesOut() async throws {
        try await withHub { url in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-cache-\(UUID().uuidString)")
            let client = MCPClient(serverURL: url, auth: session(directory, follow: false, timeout: .seconds(1)).0)
            await #expect(throws: ClientError.self) { try await client.connect() }
        }
    }

    @Test func aServerWithoutLoginNeedsNoToken() async throws {
        try await withHub(["providerType": "none"]) { url in
            let client = MCPClient(serverURL: url, auth: nil)
            #expect(try await client.unauthenticatedChallenge() == nil)
            try await client.connect()
            #expect(try await client.listTools().count == 9)
        }
    }

    private func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw ClientError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// The authorization URLs the "browser" was shown.
final class Visits: Sendable {
    private let storage = Mutex<[String]>([])
    func record(_ url: String) { storage.withLock { $0.append(url) } }
    var urls: [String] { storage.withLock { $0 } }
    var count: Int { urls.count }
}

