import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseGateway
import GatehouseOAuth
import Hummingbird
import Logging
import ServiceLifecycle

/// The gateway (`gatehouse gateway`) as a mount: the ``GatewayService`` that an MCP endpoint
/// serves, the JWKS that verifies the tokens it mints for upstreams (when no embedded
/// authorization server publishes them already), and the background work that checks upstreams
/// and stops them at shutdown.
public struct GatewayMount: Sendable {
    public let service: GatewayService
    /// Published at `/jwks` when the embedded authorization server does not publish the same keys.
    let keysToPublish: KeyRing?

    public init(service: GatewayService, keysToPublish: KeyRing?) {
        self.service = service
        self.keysToPublish = keysToPublish
    }

    /// The gateway to `upstreams`. When one of them gets minted tokens, they are signed with the
    /// embedded authorization server's key ring, or else with a key ring of the gateway's own on
    /// `stores` (sealed like the server's), which this mount then publishes at `/jwks`.
    public static func make(
        configuration: GatehouseConfiguration, upstreams: [UpstreamSpec], stores: Stores?,
        authorizationServer: AuthorizationServerMount?, logger: Logger
    ) async throws(StartupProblem) -> GatewayMount {
        var minter: KeyRingMinter?
        var keysToPublish: KeyRing?
        if mintsTokens(upstreams), let stores {
            let keys: KeyRing
            if let authorizationServer {
                keys = authorizationServer.server.keys
            } else {
                // Retired keys stay published as long as the embedded server's would.
                keys = KeyRing(
                    store: stores.authorization, secrets: try AuthorizationServerMount.sealingBox(configuration),
                    publishFor: configuration.authorizationServer.accessTokenLifetime.inSeconds + configuration.auth.leeway.inSeconds)
                keysToPublish = keys
            }
            do {
                _ = try await keys.activeKey()
            } catch {
                throw StartupProblem("cannot prepare the key that signs upstream tokens in \(configuration.storeLocation): \(error)")
            }
            minter = KeyRingMinter(keys: keys, issuer: configuration.issuerURL)
        }
        let service = GatewayService(
            upstreams: upstreams, serverInfo: .gateway(upstreams: upstreams.map(\.name)), minter: minter,
            maxChannelsPerUpstream: configuration.maxSessions, sessionIdleTimeout: configuration.sessionIdleTimeout, logger: logger)
        return GatewayMount(service: service, keysToPublish: keysToPublish)
    }

    /// Whether any upstream gets tokens the gateway signs.
    static func mintsTokens(_ upstreams: [UpstreamSpec]) -> Bool {
        upstreams.contains { if case .mintedToken = $0.identity { true } else { false } }
    }

    public func register<Context: GatehouseContext>(on router: Router<Context>) {
        guard let keys = keysToPublish else { return }
        router.group().add(middleware: CORSMiddleware(audience: .anyOrigin)).get("/jwks") { request, _ in
            do {
                return OAuthHTTP.json(try await keys.jwks(), cache: "public, max-age=300")
            } catch {
                return OAuthHTTP.error(OAuthError(.serverError, "the signing keys cannot be read"), request: request)
            }
        }
    }

    /// Checks down upstreams while the server runs; at shutdown, ends upstream sessions and stops
    /// stdio servers.
    public var services: [any Service] { [GatewayLifecycle(service: service)] }
}

/// Signs upstream tokens with the key ring of the embedded authorization server (or one of the
/// gateway's own in the same store), so they verify at this server's `/jwks`.
struct KeyRingMinter: UpstreamTokenMinter {
    let keys: KeyRing
    let issuer: String

    func sign(claims: [String: JSONValue]) async throws -> String {
        try await keys.activeKey().sign(claims: .object(claims))
    }
}

private struct GatewayLifecycle: Service, CustomStringConvertible {
    let service: GatewayService

    /// What ServiceLifecycle logs: the name only, never the upstreams' identities.
    var description: String { "GatewayLifecycle" }

    func run() async throws {
        await cancelWhenGracefulShutdown { await service.run() }
        await service.shutdown()
    }
}
