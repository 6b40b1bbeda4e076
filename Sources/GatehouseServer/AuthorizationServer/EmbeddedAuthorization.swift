import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseOAuth
import GatehouseSQLite
import Hummingbird
import Logging
import ServiceLifecycle

/// Assembles the embedded authorization server from the configuration and mounts its routes.
public enum EmbeddedAuthorization {
    /// Opens (and migrates) the store at the configured path.
    public static func openStore(_ configuration: GatehouseConfiguration) throws(StartupProblem) -> SQLiteStore {
        do {
            return try SQLiteStore(path: configuration.databasePath)
        } catch {
            throw StartupProblem(
                "cannot open the database \(configuration.databasePath): \(error); set GATEHOUSE_DATABASE_PATH to a writable file")
        }
    }

    /// The box that seals users' tool secrets, keyed by `GATEHOUSE_SECRET_KEY` when it is set.
    public static func secretBox(_ configuration: GatehouseConfiguration) -> SecretBox {
        SecretBox(keyBytes: configuration.hub.secretKey)
    }

    /// The box that seals the authorization server's signing keys: `GATEHOUSE_SECRET_KEY`, else
    /// the key file beside the database (created 0600 on first start).
    public static func authorizationSecrets(_ configuration: GatehouseConfiguration) throws(StartupProblem) -> SecretBox {
        do {
            return try SecretBox.authorizationServer(configuredKey: configuration.hub.secretKey, keyFile: configuration.sealingKeyFile)
        } catch {
            throw StartupProblem("cannot read or create the key file \(configuration.sealingKeyFile): \(error); set GATEHOUSE_KEY_FILE or GATEHOUSE_SECRET_KEY")
        }
    }

    /// Builds the server whose issuer is the public base URL, on `store`.
    ///
    /// - Parameter servesOwnResource: true for the hub, whose MCP endpoint is a resource;
    ///   false for a standalone `gatehouse idp`, which serves only the configured resources.
    public static func make(
        configuration: GatehouseConfiguration, store: SQLiteStore, scopesSupported: [String], servesOwnResource: Bool = true
    ) async throws(StartupProblem) -> AuthorizationServer {
        let embedded = configuration.authorizationServer
        var settings = AuthorizationServerSettings(
            issuer: configuration.issuerURL,
            resources: (servesOwnResource ? [configuration.resourceURL] : []) + embedded.extraResources,
            scopesSupported: scopesSupported)
        settings.accessTokenLifetime = embedded.accessTokenLifetime.inSeconds
        settings.refreshTokenLifetime = embedded.refreshTokenLifetime.inSeconds
        settings.allowPrivateClientMetadataURLs = embedded.allowPrivateClientMetadataURLs
        settings.leeway = configuration.auth.leeway.inSeconds
        settings.signInThrottle.lockout = embedded.signInLockout.inSeconds
        let server = AuthorizationServer(
            settings: settings, store: store, secrets: try authorizationSecrets(configuration), logger: Logger(label: "gatehouse.oauth"))
        do {
            _ = try await server.keys.activeKey()
            try await server.purgeExpired()
        } catch {
            throw StartupProblem("cannot prepare the signing key in \(configuration.databasePath): \(error)")
        }
        return server
    }

    /// Background work the server needs while it runs: the purge, every ten minutes, of expired
    /// codes and tokens and of registrations never used.
    static func services(_ server: AuthorizationServer?, logger: Logger) -> [any Service] {
        guard let server else { return [] }
        return [StoreMaintenance(server: server, interval: .seconds(600), logger: logger)]
    }

    /// Mounts the metadata, API and `/authorize` routes.
    public static func register(
        _ server: AuthorizationServer, configuration: GatehouseConfiguration, on router: Router<GatehouseRequestContext>
    ) {
        let base = configuration.baseURL()
        // Introspection answers for tokens of every resource this server issues for.
        let verifier = server.tokenVerifier(logger: Logger(label: "gatehouse.oauth"))
        AuthorizationServerRoutes(server: server, verifier: verifier, issuerPath: base.pathPrefix).register(on: router)
        AuthorizeRoutes(
            server: server, pending: PendingAuthorizations(),
            autoApproveUser: configuration.authorizationServer.devAutoApprove ? configuration.authorizationServer.devUser : nil,
            secureCookies: base.scheme == "https"
        ).register(on: router)
    }
}
