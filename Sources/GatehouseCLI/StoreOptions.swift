import ArgumentParser
import Foundation
import GatehouseAuth
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
        let path = try sources().lookup(.databasePath)?.value ?? GatehouseConfiguration().databasePath
        do {
            return try SQLiteStore(path: path)
        } catch {
            printError("gatehouse: cannot open the database \(path): \(error)")
            throw ExitCode.failure
        }
    }

    /// The box for secrets at rest, keyed by `GATEHOUSE_SECRET_KEY` when it is set (exit 78 when it is malformed).
    func secretBox() throws -> SecretBox {
        guard let text = try sources().lookup(.secretKey)?.value else { return SecretBox(key: nil) }
        guard let key = HubSettings.secretKey(base64: text) else {
            printError("gatehouse: GATEHOUSE_SECRET_KEY must be 32 random bytes in base64 (openssl rand -base64 32)")
            throw ExitCode(78)
        }
        return SecretBox(keyBytes: key)
    }

    private func sources() throws -> ConfigurationSources {
        do {
            return ConfigurationSources(
                flags: databasePath.map { [Setting.databasePath.name: $0] } ?? [:],
                environment: ProcessInfo.processInfo.environment, dotEnv: try readDotEnv(envFile))
        } catch {
            printError("gatehouse: \(error)")
            throw ExitCode(78)
        }
    }
}
