import Crypto
import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseHub
import GatehouseMCP
import GatehouseSQLite
import Logging
import Synchronization
import Testing

/// A hub on a fresh SQLite store, with a hand-moved clock.
struct HubHarness {
    final class Clock: Sendable {
        private let instant = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        var now: Date { instant.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { instant.withLock { $0 += seconds } }
    }

    let clock = Clock()
    let store: SQLiteStore
    let hub: Hub
    let handler: MCPMethodHandler

    init(secretKey: SymmetricKey? = SymmetricKey(size: .bits256)) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-hub-\(UUID().uuidString)/hub.db").path
        store = try SQLiteStore(path: path)
        let clock = self.clock
        hub = Hub(
            store: store, catalog: .standard(allowPrivateFetches: false), secrets: SecretBox(key: secretKey), oauthProvider: "embedded",
            now: { clock.now })
        handler = MCPMethodHandler(
            serverInfo: MCPServerInfo(name: "test", version: "1"), tools: ToolRegistry(hub.managementTools), toolSource: hub)
    }

    static let alice = Principal(subject: "usr_alice", issuer: "http://127.0.0.1:8884", email: "alice@example.com", claims: ["name": "Alice"])
    static let bob = Principal(subject: "usr_bob", issuer: "http://127.0.0.1:8884", email: "bob@example.com")

    /// Calls `name` as `principal` over the 2025-11-25 protocol; returns the result or the JSON-RPC error.
    func call(_ name: String, _ arguments: JSONValue = [:], as principal: Principal) async -> (result: [String: JSONValue]?, error: JSONRPCError?) {
        let request = JSONRPCRequest(id: .number(1), method: "tools/call", params: ["name": .string(name), "arguments": arguments])
        let response = await handler.handle(
            request, in: MCPRequestEnvironment(protocolVersion: .v2025_11_25, principal: principal, sessionID: nil, logger: Logger(label: "test")))
        return (response.resultJSON?.objectValue, response.error)
    }

    func toolNames(_ principal: Principal) async -> [String] {
        let request = JSONRPCRequest(id: .number(1), method: "tools/list", params: [:])
        let response = await handler.handle(
            request, in: MCPRequestEnvironment(protocolVersion: .v2025_11_25, principal: principal, sessionID: nil, logger: Logger(label: "test")))
        return response.resultJSON?.objectValue?["tools"]?.arrayValue?.compactMap { $0.objectValue?["name"]?.stringValue } ?? []
    }

    /// Everything the hub stores, to prove a refused request changed nothing.
    func snapshot() async throws -> String {
        var lines: [String] = []
        for user in try await store.users() {
            lines.append("user \(user.id) \(user.identity.email ?? "") \(user.identity.oauthProvider)")
            for tool in try await store.activeTools(userID: user.id) { lines.append("  \(tool.name) \(tool.configuration)") }
            for note in try await store.notes(userID: user.id, limit: 1000) { lines.append("  note \(note.text)") }
            for key in try await store.memoryKeys(userID: user.id) { lines.append("  memory \(key)") }
        }
        return lines.joined(separator: "\n")
    }
}

extension JSONRPCResponse {
    /// The result as JSON, for assertions.
    var resultJSON: JSONValue? {
        guard error == nil else { return nil }
        return (try? JSONValue.parse(encoded()))?.objectValue?["result"]
    }
}

@Suite("Hub")
struct HubTests {
    @Test func usersAreProvisionedOnceAndTouchedAtMostOnceAMinute() async throws {
        let harness = try HubHarness()
        let first = try await harness.hub.users.user(for: HubHarness.alice)
        #expect(first.identity.email == "alice@example.com")
        #expect(first.identity.name == "Alice")
        #expect(first.identity.oauthProvider == "embedded")
        harness.clock.advance(30)
        _ = try await harness.hub.users.user(for: HubHarness.alice)
        #expect(try await harness.store.users().first?.lastSeenAt == first.lastSeenAt)
        harness.clock.advance(31)
        _ = try await harness.hub.users.user(for: HubHarness.alice)
        #expect(try await harness.store.users().first?.lastSeenAt == harness.clock.now)
        #expect(try await harness.store.users().count == 1)
    }

    @Test func eachUserSeesOnlyTheirOwnTools() async throws {
        let harness = try HubHarness()
        #expect(await harness.call("add_tool", ["tool_name": "notes", "config": ["notebook": "Alice's"]], as: HubHarness.alice).result?["isError"] == false)
        #expect(await harness.call("add_tool", ["tool_name": "memory"], as: HubHarness.bob).result?["isError"] == false)
        let alices = await harness.toolNames(HubHarness.alice)
        let bobs = await harness.toolNames(HubHarness.bob)
        #expect(alices.contains("notes_add") && !alices.contains("memory_set"))
        #expect(bobs.contains("memory_set") && !bobs.contains("notes_add"))

        let before = try await harness.snapshot()
        let (_, error) = await harness.call("notes_add", ["text": "sneaky"], as: HubHarness.bob)
        #expect(error?.code == JSONRPCError.invalidParamsCode)
        #expect(error?.message == "Unknown tool: notes_add")
        #expect(try await harness.snapshot() == before)

        _ = await harness.call("notes_add", ["text": "mine"], as: HubHarness.alice)
        let listed = await harness.call("notes_list", [:], as: HubHarness.alice).result
        #expect(listed?["structuredContent"]?.objectValue?["notes"]?.arrayValue?.count == 1)
    }

    static let invalidAdditions: [(JSONValue, String)] = [
        (["tool_name": "nope"], "there is no tool named nope"),
        (["tool_name": "memory", "config": ["max_keys": "many"]], "invalid config for memory: /max_keys: expected an integer"),
        (["tool_name": "memory", "config": ["colour": "red"]], "invalid config for memory"),
        (["tool_name": "http_fetch", "config": [:]], "invalid config for http_fetch"),
        (["tool_name": "notes", "config": "yes"], "Invalid arguments for tool add_tool: /config: expected an object"),
    ]

    @Test(arguments: invalidAdditions)
    func invalidAdditionsAreClearErrorsAndChangeNothing(arguments: JSONValue, message: String) async throws {
        let harness = try HubHarness()
        _ = await harness.call("add_tool", ["tool_name": "notes"], as: HubHarness.alice)
        let before = try await harness.snapshot()
        let result = await harness.call("add_tool", arguments, as: HubHarness.alice).result
        #expect(result?["isError"] == true)
        let text = result?["content"]?.arrayValue?.first?.objectValue?["text"]?.stringValue ?? ""
        #expect(text.hasPrefix(message), "\(text)")
        #expect(try await harness.snapshot() == before)
    }

    @Test func removingOrConfiguringAToolThatIsNotActiveChangesNothing() async throws {
        let harness = try HubHarness()
        _ = await harness.call("add_tool", ["tool_name": "notes"], as: HubHarness.alice)
        let before = try await harness.snapshot()
        let refused: [(String, JSONValue)] = [
            ("remove_tool", ["tool_name": "memory"]), ("configure_tool", ["tool_name": "memory", "config": [:]]),
            ("add_tool", ["tool_name": "notes"]),
        ]
        for (name, arguments) in refused {
            let result = await harness.call(name, arguments, as: HubHarness.alice).result
            #expect(result?["isError"] == true, "\(name)")
        }
        #expect(try await harness.snapshot() == before)
    }

    @Test func removingAToolDeletesItsDataAndItsTools() async throws {
        let harness = try HubHarness()
        _ = await harness.call("add_tool", ["tool_name": "memory"], as: HubHarness.alice)
        _ = await harness.call("memory_set", ["key": "k", "value": "v"], as: HubHarness.alice)
        _ = await harness.call("remove_tool", ["tool_name": "memory"], as: HubHarness.alice)
        #expect(!(await harness.toolNames(HubHarness.alice)).contains("memory_get"))
        let user = try await harness.hub.users.user(for: HubHarness.alice)
        #expect(try await harness.store.memoryKeys(userID: user.id).isEmpty)
    }

    @Test func secretsAreSealedAtRestAndNeverShown() async throws {
        let harness = try HubHarness()
        let config: JSONValue = ["allowed_hosts": ["api.example.com"], "authorization": "Bearer very-secret-value"]
        #expect(await harness.call("add_tool", ["tool_name": "http_fetch", "config": config], as: HubHarness.alice).result?["isError"] == false)
        let user = try await harness.hub.users.user(for: HubHarness.alice)
        let stored = try #require(try await harness.store.activeTools(userID: user.id).first?.configuration)
        #expect(!stored.contains("very-secret-value"))
        #expect(stored.contains("$sealed"))
        let mine = await harness.call("list_my_tools", [:], as: HubHarness.alice).result
        let shown = mine?["structuredContent"]?.objectValue?["tools"]?.arrayValue?.first?.objectValue?["config"]?.objectValue
        #expect(shown?["authorization"] == "********")
        #expect(shown?["allowed_hosts"] == ["api.example.com"])
        // The tool itself gets the secret back, so its handler can send it.
        let tools = try await harness.hub.tools(for: HubHarness.alice)
        #expect(tools.tool(named: "http_fetch") != nil)
    }

    @Test func aChangedKeyLeavesOnlyTheAffectedToolOut() async throws {
        let harness = try HubHarness()
        _ = await harness.call("add_tool", ["tool_name": "notes"], as: HubHarness.alice)
        _ = await harness.call(
            "add_tool", ["tool_name": "http_fetch", "config": ["allowed_hosts": ["a.example.com"], "authorization": "x"]],
            as: HubHarness.alice)
        let rekeyed = Hub(
            store: harness.store, catalog: .standard(allowPrivateFetches: false), secrets: SecretBox(key: SymmetricKey(size: .bits256)),
            oauthProvider: "embedded")
        let names = try await rekeyed.tools(for: HubHarness.alice).tools.map(\.name)
        #expect(names == ["notes_add", "notes_list"])
    }

    @Test func secretsNeedAKey() async throws {
        let harness = try HubHarness(secretKey: nil)
        let before = try await harness.snapshot()
        let result = await harness.call(
            "add_tool", ["tool_name": "http_fetch", "config": ["allowed_hosts": ["a.example.com"], "authorization": "x"]],
            as: HubHarness.alice
        ).result
        #expect(result?["isError"] == true)
        #expect(result?["content"]?.arrayValue?.first?.objectValue?["text"]?.stringValue?.contains("GATEHOUSE_SECRET_KEY") == true)
        #expect(try await harness.snapshot() == before)
    }

    @Test func fetchesGoOnlyToAllowedPublicHosts() async throws {
        let harness = try HubHarness()
        _ = await harness.call(
            "add_tool", ["tool_name": "http_fetch", "config": ["allowed_hosts": ["localhost", "api.example.com"]]], as: HubHarness.alice)
        let elsewhere = await harness.call("http_fetch", ["url": "https://evil.example.com/"], as: HubHarness.alice).result
        #expect(elsewhere?["isError"] == true)
        let loopback = await harness.call("http_fetch", ["url": "https://localhost/secret"], as: HubHarness.alice).result
        #expect(loopback?["isError"] == true)
        #expect(loopback?["content"]?.arrayValue?.first?.objectValue?["text"]?.stringValue?.contains("private or loopback") == true)
    }

    @Test func aFetchOfAnAccountTheHubNoLongerOffersGoesNowhere() async throws {
        // Configured while the hub offered accounts, which it no longer does: without allowed_hosts
        // the fetch must not go anywhere, with no token and no limit.
        let harness = try HubHarness()
        _ = await harness.call("list_my_tools", as: HubHarness.alice)  // provisions her
        let alice = try #require(try await harness.store.users().first)
        #expect(try await harness.store.activateTool(userID: alice.id, name: "http_fetch", configuration: #"{"account":"github"}"#, now: harness.clock.now))
        let result = await harness.call("http_fetch", ["url": "https://example.com/"], as: HubHarness.alice).result
        #expect(result?["isError"] == true)
        #expect(result?["content"]?.arrayValue?.first?.objectValue?["text"]?.stringValue?.contains("no longer offers github accounts") == true)
    }

    @Test func limitsAreEnforced() async throws {
        let harness = try HubHarness()
        _ = await harness.call("add_tool", ["tool_name": "notes", "config": ["max_notes": 1]], as: HubHarness.alice)
        #expect(await harness.call("notes_add", ["text": "one"], as: HubHarness.alice).result?["isError"] == false)
        #expect(await harness.call("notes_add", ["text": "two"], as: HubHarness.alice).result?["isError"] == true)
    }

    @Test func concurrentWritesFromManyUsersAreAllKept() async throws {
        let harness = try HubHarness()
        let users = (0..<20).map { Principal(subject: "usr_\($0)", issuer: "http://127.0.0.1:8884", email: "u\($0)@example.com") }
        for user in users { _ = await harness.call("add_tool", ["tool_name": "notes"], as: user) }
        await withTaskGroup(of: Void.self) { group in
            for user in users {
                for index in 0..<10 {
                    group.addTask { _ = await harness.call("notes_add", ["text": .string("note \(index)")], as: user) }
                }
            }
        }
        for user in users {
            let id = try await harness.hub.users.user(for: user).id
            #expect(try await harness.store.notes(userID: id, limit: 100).count == 10)
        }
        #expect(try await harness.store.users().count == 20)
    }
}
