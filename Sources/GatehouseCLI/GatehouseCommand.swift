import ArgumentParser
import GatehouseCore

@main
struct GatehouseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gatehouse",
        abstract: "Real OAuth in front of MCP servers, in one binary.",
        discussion: """
            Start with `gatehouse hub`: an MCP hub at http://127.0.0.1:8884/mcp with its own OAuth \
            authorization server and per-user tools, for every protocol revision from 2024-11-05 to \
            2026-07-28. `gatehouse gateway` puts the same login in front of MCP servers you already have; \
            `gatehouse idp` runs the authorization server alone; `gatehouse login`, `tools` and `call` are a \
            client for any OAuth-protected MCP server, and `gatehouse bridge` serves one over stdio to desktop \
            clients; `gatehouse doctor` diagnoses a deployment or explains a refused token.

            Shell completions: gatehouse --generate-completion-script bash|zsh|fish (see docs/deploy.md).

            Example:
              gatehouse hub
              gatehouse gateway --upstream weather=http://127.0.0.1:8000/mcp
              gatehouse doctor https://mcp.example.com/mcp
            """,
        version: Gatehouse.version,
        subcommands: [
            HubCommand.self, GatewayCommand.self, DoctorCommand.self, IdpCommand.self, KeysCommand.self, UsersCommand.self, DatabaseCommand.self, LoginCommand.self,
            ToolsCommand.self, CallCommand.self, PingCommand.self, LogoutCommand.self, BridgeCommand.self, ClientConfigCommand.self,
        ]
    )
}
