import ArgumentParser
import Foundation

struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Maintain the SQLite store.",
        discussion: """
            Example:
              gatehouse db backup --database-path hub_data/hub.db hub-backup.db
            """,
        subcommands: [DatabaseMigrateCommand.self, DatabaseBackupCommand.self]
    )
}

struct DatabaseMigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending schema migrations (the hub also does this when it starts).",
        discussion: """
            Example:
              gatehouse db migrate --database-path /var/lib/gatehouse/hub.db
            """)

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let opened = try await store.open().administration
        print("\(opened.location): schema \(try await opened.appliedMigrations().joined(separator: ", "))")
    }
}

struct DatabaseBackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database to PATH while the hub keeps running (SQLite online backup).",
        discussion: """
            Example:
              gatehouse db backup --database-path /var/lib/gatehouse/hub.db /backups/hub-$(date +%F).db
            """)

    @Argument(help: "Where to write the copy; must not exist yet.")
    var path: String

    @OptionGroup var store: StoreOptions

    func run() async throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("\(path) exists; choose a new file so nothing is overwritten")
        }
        let opened = try await store.open().administration
        try opened.backup(to: path)
        print("backed up \(opened.location) to \(path)")
    }
}
