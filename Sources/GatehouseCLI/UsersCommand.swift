import ArgumentParser
import Foundation
import GatehouseHub

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Show the hub's users.",
        discussion: """
            Example:
              gatehouse users
            """,
        subcommands: [UsersListCommand.self],
        defaultSubcommand: UsersListCommand.self
    )
}

struct UsersListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List every user the hub has provisioned, with their active tools.",
        discussion: """
            Example:
              gatehouse users list --database-path /var/lib/gatehouse/hub.db
            """)

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let opened = try await store.open().hub
        let users = try await opened.users()
        guard !users.isEmpty else {
            print("no users yet: they are created when they first sign in")
            return
        }
        var rows = [["EMAIL", "PROVIDER", "CREATED (UTC)", "LAST SEEN (UTC)", "TOOLS"]]
        for user in users {
            let tools = try await opened.activeTools(userID: user.id).map(\.name)
            rows.append([
                user.identity.email ?? user.identity.subject, user.identity.oauthProvider, Self.format(user.createdAt),
                Self.format(user.lastSeenAt), tools.isEmpty ? "-" : tools.joined(separator: ","),
            ])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }

    private static func format(_ date: Date) -> String {
        String(date.ISO8601Format().replacingOccurrences(of: "T", with: " ").dropLast())
    }
}
