import ArgumentParser
import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseServer

/// Options of the commands that work on the store directly (`idp add-user`, `keys rotate`,
/// `users`, `db`): the same settings as the hub (flag, environment, `.env`), so they find the
/// same database and key file.
struct StoreOptions: ParsableArguments {
    @Option(help: "SQLite database of the store. [env: GATEHOUSE_DATABASE_PATH, HUB_DATABASE_PATH; default: hub_data/hub.db]")
    var databasePath: String?

    @Option(help: "PostgreSQL store instead of SQLite: postgres://USER:PASSWORD@HOST:PORT/DATABASE. [env: HUB_DATABASE_URL, GATEHOUSE_DATABASE_URL]")
    var databaseURL: String?

    @Option(help: "Read settings from this file of KEY=VALUE lines. [default: .env in the working directory, if present]")
    var envFile: String?

    /// The configuration the flag, the environment and the `.env` file give (exit 78 when invalid).
    func configuration() throws -> GatehouseConfiguration {
        do {
            let sources = ConfigurationSources(
                flags: [Setting.databasePath.name: databasePath, Setting.databaseURL.name: databaseURL].compactMapValues { $0 },
                environment: ProcessInfo.processInfo.environment, dotEnv: try readDotEnv(envFile))
            return try GatehouseConfiguration.load(from: sources).0
        } catch {
            printError("gatehouse: \(error)")
            throw ExitCode(78)  // EX_CONFIG
        }
    }

    /// Opens the configured store, as the hub does (exit 1 when it cannot be).
    func open() async throws -> Stores {
        do {
            return try await StoreBackend.open(try configuration())
        } catch let problem as StartupProblem {
            printError("gatehouse: \(problem)")
            throw ExitCode.failure
        }
    }

    /// The box that seals the authorization server's signing keys, as the hub has it.
    func authorizationSecrets() throws -> SecretBox {
        do {
            return try AuthorizationServerMount.sealingBox(try configuration())
        } catch let problem as StartupProblem {
            printError("gatehouse: \(problem)")
            throw ExitCode(78)
        }
    }
}
