import ArgumentParser
import Foundation
import GatehouseClient
import GatehouseCore

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Sign in to an OAuth-protected MCP server and keep its tokens.",
        discussion: """
            Finds the server's authorization server (protected-resource metadata, then RFC 8414 metadata), \
            registers this client when needed (a pre-registered --client-id, a Client ID Metadata Document, \
            or dynamic registration), opens the browser for the sign-in with PKCE, and stores the tokens in \
            the cache (mode 0600). tools, call and ping sign in by themselves when they need to.
            
            Example:
              gatehouse login https://mcp.example.com/mcp
              gatehouse login --no-browser --client-id my-registered-client https://mcp.example.com/mcp
            """)

    @Argument(help: "The MCP endpoint URL, e.g. https://mcp.example.com/mcp.")
    var url: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let serverURL = try ClientOptions.serverURL(url)
        try await runClient {
            let session = options.session()
            let client = MCPClient(serverURL: serverURL, auth: session)
            guard let challenge = try await client.unauthenticatedChallenge() else {
                print("\(serverURL) answers without signing in; nothing to do")
                return
            }
            let login = try await session.login(serverURL: serverURL, challenge: challenge)
            let expiry = login.expiresAt.map { " (access token valid until \($0.ISO8601Format()), refreshed automatically)" } ?? ""
            print("signed in to \(serverURL) via \(login.authorizationServer.issuer)\(expiry)")
        }
    }
}

struct ToolsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tools", abstract: "List the tools of an MCP server.",
        discussion: """
            Example:
              gatehouse tools https://mcp.example.com/mcp
              gatehouse tools --json https://mcp.example.com/mcp
            """)

    @Argument(help: "The MCP endpoint URL.")
    var url: String

    @Flag(help: "Print the tools as JSON.")
    var json = false

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let serverURL = try ClientOptions.serverURL(url)
        try await runClient {
            let tools = try await options.withClient(serverURL) { try await $0.listTools() }
            if json {
                print(JSONText.pretty(.array(tools)))
                return
            }
            let rows = tools.map { tool in
                (tool.objectValue?["name"]?.stringValue ?? "?", (tool.objectValue?["description"]?.stringValue ?? "").split(separator: "\n").first.map(String.init) ?? "")
            }
            let width = max(4, rows.map(\.0.count).max() ?? 0)
            print("NAME".padding(toLength: width, withPad: " ", startingAt: 0) + "  DESCRIPTION")
            for (name, description) in rows { print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + description) }
        }
    }
}

struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call a tool of an MCP server.",
        discussion: """
            Arguments are key=value pairs; a value that parses as JSON (2, true, null, "text", [1,2], {"a":1}) is \
            that JSON value, anything else a string. --json-args gives them all as one JSON object instead. \
            The tool's text is printed; a tool error is printed on stderr with exit code 1.
            
            Example:
              gatehouse call https://mcp.example.com/mcp add a=2 b=3
              gatehouse call --json-args '{\"text\": \"hi\"}' https://mcp.example.com/mcp echo
            """)

    @Argument(help: "The MCP endpoint URL.")
    var url: String

    @Argument(help: "The tool's name.")
    var tool: String

    @Argument(help: "Arguments as key=value.")
    var arguments: [String] = []

    @Option(help: "All arguments as one JSON object, e.g. '{\"a\": 2, \"b\": 3}'.")
    var jsonArgs: String?

    @Flag(help: "Print the whole result as JSON.")
    var json = false

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let serverURL = try ClientOptions.serverURL(url)
        let values = try ToolArgumentParser.parse(arguments, json: jsonArgs)
        try await runClient {
            let result = try await options.withClient(serverURL) { try await $0.callTool(tool, arguments: values) }
            if json {
                print(JSONText.pretty(.object(result)))
            }
            let text = (result["content"]?.arrayValue ?? []).compactMap { $0.objectValue?["text"]?.stringValue }.joined(separator: "\n")
            if result["isError"] == true {
                printError("gatehouse: \(tool) failed: \(text.isEmpty ? "no message" : text)")
                throw ExitCode.failure
            }
            if !json { print(text.isEmpty ? JSONText.pretty(result["structuredContent"] ?? .object(result)) : text) }
        }
    }
}

struct PingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ping", abstract: "Check that an MCP server answers (signing in if needed).",
        discussion: """
            Example:
              gatehouse ping https://mcp.example.com/mcp
            """)

    @Argument(help: "The MCP endpoint URL.")
    var url: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let serverURL = try ClientOptions.serverURL(url)
        try await runClient {
            let start = ContinuousClock.now
            let version = try await options.withClient(serverURL) { client in
                try await client.ping()
                return await client.protocolVersion ?? "?"
            }
            let elapsed = ContinuousClock.now - start
            print("\(serverURL) answers (protocol \(version), \(elapsed.inNanoseconds / 1_000_000) ms)")
        }
    }
}

struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logout", abstract: "Forget the tokens of a server, or of all servers.",
        discussion: """
            Example:
              gatehouse logout https://mcp.example.com/mcp
              gatehouse logout --all
            """)

    @Argument(help: "The MCP endpoint URL whose tokens to forget.")
    var url: String?

    @Flag(help: "Forget every server's tokens.")
    var all = false

    @OptionGroup var options: ClientOptions

    func run() async throws {
        guard all || url != nil else { throw ValidationError("name the server URL to log out of, or pass --all") }
        try await runClient {
            let session = options.session()
            let logins = try session.cache.all()
            let targets = all ? Array(logins.values) : logins[url ?? ""].map { [$0] } ?? []
            if targets.isEmpty, let url {
                print("no login was stored for \(url)")
                return
            }
            for login in targets {
                // Revoke the refresh token at the server, so the login ends there too, not just here.
                let revoked = (try? await session.revoke(login)) ?? false
                try session.cache.remove(login.serverURL)
                print("logged out of \(login.serverURL)\(revoked ? " (refresh token revoked at \(login.authorizationServer.issuer))" : "")")
            }
        }
    }
}

struct ClientConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client-config", abstract: "Print the configuration that connects an MCP client to a server.",
        discussion: """
            Example:
              gatehouse client-config claude https://mcp.example.com/mcp
              gatehouse client-config claude-desktop https://mcp.example.com/mcp >> claude_desktop_config.json
            """)

    enum Client: String, ExpressibleByArgument, CaseIterable {
        case claude, cursor, vscode
        case claudeDesktop = "claude-desktop"
    }

    @Argument(
        help: "claude (Claude Code command), cursor (~/.cursor/mcp.json), vscode (.vscode/mcp.json) or claude-desktop (claude_desktop_config.json, through `gatehouse bridge`).")
    var client: Client

    @Flag(help: "Connect through `gatehouse bridge` (stdio) instead of over HTTP, for clients that only launch commands.")
    var stdio = false

    @Argument(help: "The MCP endpoint URL.")
    var url: String

    @Option(help: "The name the server gets in the client.")
    var name = "gatehouse"

    func run() throws {
        let serverURL = try ClientOptions.serverURL(url)
        // The stdio form runs this very binary, so the configuration works without PATH.
        let command = Bundle.main.executablePath ?? "gatehouse"
        let bridge: JSONValue = ["command": .string(command), "args": ["bridge", .string(serverURL)]]
        switch (client, stdio) {
        case (.claude, false):
            print("claude mcp add --transport http \(name) \(serverURL)")
        case (.claude, true):
            print("claude mcp add \(name) -- \(command) bridge \(serverURL)")
        case (.cursor, false):
            print(JSONText.pretty(["mcpServers": .object([name: ["url": .string(serverURL)]])]))
        case (.cursor, true), (.claudeDesktop, _):
            print(JSONText.pretty(["mcpServers": .object([name: bridge])]))
        case (.vscode, false):
            print(JSONText.pretty(["servers": .object([name: ["type": "http", "url": .string(serverURL)]])]))
        case (.vscode, true):
            var server = bridge.objectValue ?? [:]
            server["type"] = "stdio"
            print(JSONText.pretty(["servers": .object([name: .object(server)])]))
        }
    }
}
