import Foundation
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

private struct GatewayLifecycle: Service {
    let service: GatewayService

    func run() async throws {
        await cancelWhenGracefulShutdown { await service.run() }
        await service.shutdown()
    }
}
