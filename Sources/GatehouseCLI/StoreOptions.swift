import ArgumentParser
import Foundation
import GatehouseCore
import GatehouseStore

/// Options of the commands that work on the store directly (`idp add-user`, `keys rotate`).
struct StoreOptions: ParsableArguments {
    @Option(help: "SQLite database of the store. [env: GATEHOUSE_DATABASE_PATH, HUB_DATABASE_PATH; default: hub_data/hub.db]")
    var databasePath: String?

    @Option(help: "Read settings from this file of KEY=VALUE lines. [default: .env in the working directory, if present]")
    var envFile: String?

    /// Opens the store named by the flag, the environment or the `.env` file (exit 78 when it cannot be).
    func open() throws -> SQLiteStore {
        let path: String
        do {
            let sources = ConfigurationSources(
                flags: databasePath.map { [Setting.databasePath.name: $0] } ?? [:],
                environment: ProcessInfo.processInfo.environment, dotEnv: try readDotEnv(envFile))
            path = sources.lookup(.databasePath)?.value ?? GatehouseConfiguration().databasePath
        } catch {
            printError("gatehouse: \(error)")
            throw ExitCode(78)
        }
        do {
            return try SQLiteStore(path: path)
        } catch {
            printError("gatehouse: cannot open the database \(path): \(error)")
            throw ExitCode.failure
        }
    }
}
