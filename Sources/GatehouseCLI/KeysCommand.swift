import ArgumentParser
import Foundation
import GatehouseOAuth

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the embedded authorization server's signing keys.",
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
            30 seconds.
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(help: "Access-token lifetime in seconds, to know how long the old key must stay published. [default: 900]")
    var accessTokenTTL: Int = 900

    func run() async throws {
        let ring = KeyRing(store: try store.open(), publishFor: TimeInterval(accessTokenTTL) + 90)
        let key = try await ring.rotate()
        print("new signing key \(key.keyID) is active; the previous key stays published until its tokens expire")
    }
}
