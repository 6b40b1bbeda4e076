import ArgumentParser
import Foundation
import GatehouseClient
import GatehouseCore

struct BridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bridge",
        abstract: "Serve a remote OAuth-protected MCP server over stdio, for desktop clients that only launch commands.",
        discussion: """
            Reads JSON-RPC messages, one per line, on standard input and relays them to the server URL; writes \
            what the server sends back (responses, notifications, its requests such as elicitation) to standard \
            output, as it streams. Signs in the way `gatehouse login` does when the server asks (discovery, \
            registration or --client-id, PKCE, a browser or the printed URL), keeps the tokens in the same cache, \
            refreshes them, and signs in again for more scopes when the server asks for them. The client's own \
            protocol era goes through: a 2025 session opened by its initialize, or stateless 2026-07-28 requests. \
            Logs and the sign-in URL go to standard error.

            Claude Desktop's claude_desktop_config.json runs it as \
            {"mcpServers": {"hub": {"command": "gatehouse", "args": ["bridge", "https://mcp.example.com/mcp"]}}}; \
            `gatehouse client-config claude-desktop URL` prints that.

            Example:
              gatehouse bridge https://mcp.example.com/mcp
              gatehouse bridge --header "X-Tenant: acme" --client-id desktop-app https://mcp.example.com/mcp
            """
    )

    @Argument(help: "The MCP endpoint URL.")
    var url: String

    @Option(name: .customLong("header"), help: ArgumentHelp("A header sent with every request, as 'Name: value'; repeatable.", valueName: "header"))
    var headers: [String] = []

    @Option(help: "Seconds one request (with its streamed answer) may take.")
    var requestTimeout: Int = 600

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let serverURL = try ClientOptions.serverURL(url)
        var extra: [(String, String)] = []
        for header in headers {
            guard let colon = header.firstIndex(of: ":"), colon != header.startIndex else {
                throw ValidationError("--header \(header.prefix(40)) is not 'Name: value'")
            }
            let name = header[..<colon].trimmingCharacters(in: .whitespaces)
            guard name.lowercased() != "authorization" else {
                throw ValidationError("--header Authorization is not allowed: the bridge signs in and sends its own token")
            }
            extra.append((name, header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let output = StandardOutputLines()
        let relay = MCPRelay(
            serverURL: serverURL, auth: client.session(), headers: extra, requestTimeout: .seconds(max(requestTimeout, 1))
        ) { message in await output.write(message) }
        await withTaskGroup(of: Void.self) { group in
            for await line in StandardInputLines.lines() {
                guard !line.allSatisfy(\.isWhitespace) else { continue }
                guard let message = try? JSONValue.parse(Array(line.utf8)), message.objectValue != nil else {
                    // JSON-RPC 2.0 §5.1: a message that does not parse gets a parse error with a null id.
                    await output.write(["jsonrpc": "2.0", "id": .null, "error": ["code": -32700, "message": "not a JSON-RPC message"]])
                    continue
                }
                group.addTask { await relay.forward(message) }
            }
            // Standard input closed: the client is gone. Finish what is in flight, then end the session.
            await group.waitForAll()
        }
        await relay.close()
    }
}

/// Standard output, one JSON message per line, written whole even when several answers arrive at once.
actor StandardOutputLines {
    func write(_ message: JSONValue) {
        var writer = JSONWriter()
        writer.value(message)
        FileHandle.standardOutput.write(Data(writer.bytes + [UInt8(ascii: "\n")]))
    }
}

/// Standard input's lines, read on a thread of their own (a blocking read must not hold one of
/// the cooperative pool's few threads).
enum StandardInputLines {
    static func lines() -> AsyncStream<String> {
        AsyncStream { continuation in
            let reader = Thread {
                while let line = readLine(strippingNewline: true) { continuation.yield(line) }
                continuation.finish()
            }
            reader.stackSize = 1 << 20
            reader.start()
        }
    }
}
