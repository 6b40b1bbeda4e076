import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseOAuth
import Hummingbird
import Logging

/// The embedded authorization server on its own (`gatehouse idp`): for a separate
/// deployment, or to put login in front of MCP servers Gatehouse does not serve. They verify
/// its tokens against its JWKS like any other issuer's.
public struct IdentityProviderServer: Sendable {
    public let configuration: GatehouseConfiguration
    public let authorizationServer: AuthorizationServer

    /// Opens the store; the configuration must name at least one resource (`--resource`).
    public static func make(configuration: GatehouseConfiguration) async throws(StartupProblem) -> Self {
        guard !configuration.authorizationServer.extraResources.isEmpty else {
            throw StartupProblem(
                "name the MCP servers tokens are for with --resource URL (or GATEHOUSE_IDP_RESOURCES), e.g. --resource https://mcp.example.com/mcp")
        }
        let server = try await EmbeddedAuthorization.make(
            configuration: configuration, store: try EmbeddedAuthorization.openStore(configuration),
            scopesSupported: configuration.authorizationServer.scopes, servesOwnResource: false)
        return IdentityProviderServer(configuration: configuration, authorizationServer: server)
    }

    /// The runnable application; `onRunning` receives the bound port once it listens.
    public func application(
        logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: GatehouseRequestContext.self)
        router.add(middleware: RequestLogMiddleware())
        router.add(middleware: CORSMiddleware(policy: OriginPolicy(configuration: configuration)))
        HealthRoute.register(on: router)
        EmbeddedAuthorization.register(authorizationServer, configuration: configuration, on: router)
        return Application(
            router: router,
            server: GuardedHTTPServer.builder(configuration.connections, logger: logger),
            configuration: GuardedHTTPServer.configuration(
                host: configuration.host, port: configuration.port, settings: configuration.connections),
            services: EmbeddedAuthorization.services(authorizationServer, logger: logger),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}
