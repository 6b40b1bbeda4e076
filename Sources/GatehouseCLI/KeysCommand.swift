import ArgumentParser
import Foundation
import GatehouseAuth
import GatehouseOAuth

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the embedded authorization server's signing keys.",
        discussion: """
            Example:
              gatehouse keys rotate
            """,
        subcommands: [KeysRotateCommand.self]
    )
}

struct KeysRotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Make a new signing key the active one.",
        discussion: """
            The previous key stays in the JWKS until the tokens it signed have expired (the access-token \
            lifetime plus a margin), so nobody is signed out. Running servers pick up the new key within \
            30 seconds. The key is stored sealed with GATEHOUSE_SECRET_KEY, else with the key file beside the \
            database (GATEHOUSE_KEY_FILE), exactly as the hub seals it.
            
            Example:
              gatehouse keys rotate --database-path /var/lib/gatehouse/hub.db
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(help: "Access-token lifetime in seconds, to know how long the old key must stay published. [default: 900]")
    var accessTokenTTL: Int = 900

    func run() async throws {
        let ring = KeyRing(store: try await store.open().authorization, secrets: try store.authorizationSecrets(), publishFor: TimeInterval(accessTokenTTL) + 90)
        let key: SigningKey
        do {
            key = try await ring.rotate()
        } catch {
            printError("gatehouse: cannot rotate the signing key: \(error)")
            throw ExitCode.failure
        }
        print("new signing key \(key.keyID) is active; the previous key stays published until its tokens expire")
    }
}
