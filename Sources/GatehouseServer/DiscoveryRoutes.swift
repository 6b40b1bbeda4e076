import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseMCP
import Hummingbird
import Logging
import NIOCore

/// The OAuth discovery documents a client fetches before it can authenticate.
struct DiscoveryRoutes: Sendable {
    let authenticator: Authenticator
    let urls: PublicURLs
    let scopesSupported: [String]

    func register(on router: Router<GatehouseRequestContext>) {
        // RFC 9728 §3.1 path-aware location first, then the root location clients also try.
        var paths = [PublicURLs.metadataPath + urls.configuration.mcpPath, PublicURLs.metadataPath]
        if let prefix = urls.configuration.explicitBaseURL?.pathPrefix, !prefix.isEmpty {
            paths.append(PublicURLs.metadataPath + prefix + urls.configuration.mcpPath)
        }
        for path in paths {
            router.get(RouterPath(path)) { request, _ in try protectedResourceMetadata(request) }
        }
        guard let provider = authenticator.providerMetadata else { return }
        router.get("/.well-known/oauth-authorization-server") { _, context in
            await mirror(provider, .oauth, logger: context.logger)
        }
        router.get("/.well-known/openid-configuration") { _, context in
            await mirror(provider, .openID, logger: context.logger)
        }
    }

    private func protectedResourceMetadata(_ request: Request) throws -> Response {
        let base = urls.base(for: request)
        let metadata = ProtectedResourceMetadata(
            resource: urls.resource(base),
            authorizationServers: authenticator.settings.advertisedAuthorizationServer.map { [$0] } ?? [],
            scopesSupported: scopesSupported, resourceName: authenticator.settings.resourceName)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return Self.json(try encoder.encode(metadata), cache: "public, max-age=300")
    }

    private func mirror(_ provider: ProviderMetadata, _ kind: ProviderMetadata.Kind, logger: Logger) async -> Response {
        do {
            return Self.json(try await provider.document(kind).json, cache: "public, max-age=300")
        } catch {
            logger.warning("cannot mirror the provider's metadata", metadata: ["error": "\(error)"])
            return AuthMiddleware.oauthError(
                .badGateway, code: "temporarily_unavailable",
                description: "the authorization server's metadata cannot be fetched; fetch it from \(provider.issuer)")
        }
    }

    static func json(_ data: Data, cache: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: cache],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
