import ArgumentParser
import Foundation
import GatehouseCore
import GatehouseOAuth
import GatehouseServer

struct IdpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idp",
        abstract: "Run the embedded authorization server alone, or manage its users.",
        discussion: """
            Example:
              gatehouse idp --resource https://mcp.example.com/mcp
              gatehouse idp add-user alice@example.com --name Alice
            """,
        subcommands: [IdpServeCommand.self, IdpAddUserCommand.self],
        defaultSubcommand: IdpServeCommand.self
    )
}

struct IdpServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the embedded OAuth authorization server without an MCP endpoint.",
        discussion: """
            Serves RFC 8414 metadata, JWKS, /register, /authorize, /token, /revoke and /introspect with the \
            issuer http://HOST:PORT (or --base-url). Tokens are issued only for the MCP servers named with \
            --resource; those servers verify them against the JWKS like any issuer's \
            (gatehouse hub --jwt-issuer ISSUER). Users sign in with accounts made by `gatehouse idp add-user`.
            
            Example:
              gatehouse idp --port 9000 --resource https://mcp.example.com/mcp
            """
    )

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let (configuration, logger) = try ServeSupport.start(options)
        let server: GatehouseServer
        do {
            server = try await GatehouseServer.identityProvider(configuration: configuration, logger: logger)
        } catch {
            printError("gatehouse: cannot start: \(error)")
            throw ExitCode.failure
        }
        let app = server.application(logger: logger) { port in
            let base = configuration.baseURL(boundPort: port)
            let text = """
                Gatehouse \(Gatehouse.version) authorization server is running.
                  issuer        \(base)
                  metadata      \(base.origin)/.well-known/oauth-authorization-server\(base.pathPrefix)
                  resources     \(configuration.authorizationServer.extraResources.joined(separator: ", "))
                  store         \(configuration.storeLocation)
                Press Ctrl-C to stop.

                """
            ServeSupport.announce(text, configuration: configuration)
        }
        try await ServeSupport.run(app, configuration: configuration, logger: logger)
    }
}

struct IdpAddUserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-user",
        abstract: "Create a user of the embedded authorization server, or with --update change their password.",
        discussion: """
            The password is read from standard input with --password-stdin (one line), else asked for on \
            the terminal. It is stored as an scrypt hash. An existing user is never changed by accident: \
            change their password (and name) with --update.

            Example:
              gatehouse idp add-user alice@example.com --name Alice --database-path /var/lib/gatehouse/hub.db
            """
    )

    @Argument(help: "The user's email, which they sign in with.")
    var email: String

    @Option(help: "The user's display name.")
    var name: String?

    @Flag(help: "Read the password from the first line of standard input.")
    var passwordStdin = false

    @Flag(help: "Change the password (and --name) of an existing user instead of creating one.")
    var update = false

    @OptionGroup var store: StoreOptions

    func run() async throws {
        guard email.contains("@"), !email.contains(where: \.isWhitespace), email.count <= 254 else {
            throw ValidationError("\(email.prefix(80)) is not an email address")
        }
        let password = try readPassword()
        guard password.count >= 8 else { throw ValidationError("the password must have at least 8 characters") }
        let users = LocalUsers(store: try await store.open().authorization)
        if update {
            guard let user = try await users.update(email: email, name: name, password: password) else {
                throw ValidationError("there is no user \(email); leave out --update to create one")
            }
            print("user \(user.email) (sub \(user.id)) has a new password")
        } else {
            guard let user = try await users.create(email: email, name: name, password: password) else {
                throw ValidationError("\(email) already exists; pass --update to change their password")
            }
            print("user \(user.email) (sub \(user.id)) can sign in")
        }
    }

    private func readPassword() throws -> String {
        if passwordStdin {
            guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password on standard input") }
            return line
        }
        guard isatty(STDIN_FILENO) == 1, let entered = getpass("Password for \(email): ") else {
            throw ValidationError("standard input is not a terminal; pass the password with --password-stdin")
        }
        return String(cString: entered)
    }
}
