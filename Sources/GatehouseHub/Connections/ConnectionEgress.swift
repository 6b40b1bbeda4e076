import GatehouseEgress

/// How the hub reaches what a connection names: a user's MCP server, and every URL that server
/// publishes, through the client guarded for user-named hosts; the operator's account
/// providers through theirs.
struct ConnectionEgress: Sendable {
    let servers: EgressClient
    let accounts: EgressClient

    init(servers: EgressClient, accounts: AccountProviders?) {
        self.servers = servers
        self.accounts = accounts?.http ?? servers
    }

    func client(for kind: UserConnection.Kind) -> EgressClient {
        switch kind {
        case .mcpServer: servers
        case .account: accounts
        }
    }
}
