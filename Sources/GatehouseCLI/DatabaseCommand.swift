import ArgumentParser
import Foundation
import GatehouseCore
import GatehouseServer

struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Maintain the store (SQLite, or PostgreSQL with --database-url).",
        discussion: """
            Example:
              gatehouse db backup --database-path hub_data/hub.db hub-backup.db
              gatehouse db copy --from sqlite:hub_data/hub.db --to postgres://gatehouse:…@db.internal/gatehouse
            """,
        subcommands: [DatabaseMigrateCommand.self, DatabaseBackupCommand.self, DatabaseCopyCommand.self]
    )
}

struct DatabaseMigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending schema migrations (the hub also does this when it starts).",
        discussion: """
            Works on both stores: the SQLite file (--database-path) or PostgreSQL (--database-url, \
            HUB_DATABASE_URL). Instances starting together apply a migration once.

            Example:
              gatehouse db migrate --database-path /var/lib/gatehouse/hub.db
              HUB_DATABASE_URL=postgres://gatehouse:…@db.internal/gatehouse gatehouse db migrate
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

struct DatabaseCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a SQLite store into an empty PostgreSQL database, to move an installation to several instances.",
        discussion: """
            Copies clients, codes, refresh tokens, signing keys, users, consents, upstream logins and every hub \
            user's tools and data, in one transaction (nothing is written when anything fails), from a consistent \
            snapshot (the hub may keep running; stop it before switching over so nothing is written after the \
            copy). Sealed values move as they are: start the PostgreSQL instances with GATEHOUSE_SECRET_KEY and, \
            if the SQLite installation had no secret key, GATEHOUSE_KEY_FILE naming its key file once, so the \
            signing keys open and are sealed again with the secret key.

            Example:
              gatehouse db copy --from sqlite:hub_data/hub.db --to postgres://gatehouse:…@127.0.0.1:5432/gatehouse
            """)

    @Option(help: "The SQLite store to read, as sqlite:PATH.")
    var from: String

    @Option(help: "The empty PostgreSQL database to fill, as postgres://USER:PASSWORD@HOST:PORT/DATABASE.")
    var to: String

    func run() async throws {
        guard from.hasPrefix("sqlite:"), FileManager.default.fileExists(atPath: String(from.dropFirst(7))) else {
            throw ValidationError("--from must be sqlite:PATH of an existing database file")
        }
        let target: PostgresSettings
        do {
            target = try PostgresSettings(url: to)
        } catch {
            throw ValidationError("--to: \(error.problem)")
        }
        do {
            let copied = try await StoreBackend.copy(fromSQLite: String(from.dropFirst(7)), to: target)
            for (table, count) in copied { print("\(table): \(count)") }
            print("copied \(from) to \(target.redactedURL)")
        } catch {
            printError("gatehouse: cannot copy to \(target.redactedURL): \(String(describing: error)); nothing was written")
            throw ExitCode.failure
        }
    }
}
