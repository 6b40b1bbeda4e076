import ArgumentParser
import Foundation
import GatehouseClient

/// The options of the client commands: where tokens are kept and how to sign in.
struct ClientOptions: ParsableArguments {
    @Option(help: "Directory of the token cache. [default: $XDG_CONFIG_HOME/gatehouse, else ~/.config/gatehouse]")
    var configDir: String?

    @Flag(help: "Do not open a browser; print the sign-in URL (on stderr) and wait for it to be visited.")
    var noBrowser = false

    @Option(help: "A client id registered with the authorization server beforehand.")
    var clientID: String?

    @Option(help: "The secret of --client-id, if it has one (better: the environment, which shell history does not keep). [env: GATEHOUSE_CLIENT_SECRET]")
    var clientSecret: String?

    @Option(help: "Your Client ID Metadata Document's https URL, used as client id where servers accept them.")
    var clientMetadataURL: String?

    @Option(help: "Port of the loopback sign-in callback on 127.0.0.1. [default: the registered one, else a free port]")
    var callbackPort: Int?

    @Option(help: "Space-separated scopes to ask for. [default: what the server asks for]")
    var scope: String?

    @Option(help: "Seconds to wait for the sign-in in the browser.")
    var timeout: Int = 300

    func session() -> OAuthSession {
        var login = LoginOptions()
        login.openBrowser = !noBrowser
        login.clientID = clientID
        login.clientSecret = clientSecret ?? ProcessInfo.processInfo.environment["GATEHOUSE_CLIENT_SECRET"]
        login.clientMetadataURL = clientMetadataURL
        login.callbackPort = callbackPort
        login.scopes = scope.map { $0.split(separator: " ").map(String.init) }
        login.timeout = .seconds(max(timeout, 1))
        return OAuthSession(cache: cache(), options: login) { line in printError("gatehouse: \(line)") }
    }

    /// Connects to `serverURL` (signing in when needed), runs `body`, and ends the session,
    /// whether `body` succeeds or not.
    func withClient<T: Sendable>(_ serverURL: String, _ body: (MCPClient) async throws -> T) async throws -> T {
        let client = MCPClient(serverURL: serverURL, auth: session())
        try await client.connect()
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    func cache() -> TokenCache {
        TokenCache(directory: configDir.map { URL(fileURLWithPath: $0) })
    }

    /// Checks that `url` is an MCP endpoint URL (absolute http or https).
    static func serverURL(_ url: String) throws -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme),
            components.host?.isEmpty == false
        else { throw ValidationError("\(url.prefix(100)) is not an MCP endpoint URL such as https://mcp.example.com/mcp") }
        return url
    }
}

/// Runs a client operation, turning a ``ClientError`` into one line on stderr and exit code 1.
func runClient(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ClientError {
        printError("gatehouse: \(error)")
        throw ExitCode.failure
    }
}
