import Foundation
import GatehouseAuth
import GatehouseCore
import Hummingbird
import Logging

/// Makes an MCP endpoint an OAuth protected resource: the RFC 9728 metadata document (at the
/// path-aware location and the root), the provider's metadata mirrored on this host for clients
/// that look there, and ``middleware()``, which turns a bearer token into the request's
/// ``Principal`` or a challenge.
public struct ProtectedResourceMount: Sendable {
    public let authenticator: Authenticator
    let urls: PublicURLs
    let scopesSupported: [String]
    let challenges: BearerChallenges

    /// - Parameter scopesSupported: what the metadata lists: the required scopes and every scope
    ///   a tool needs. A 401 asks for the required scopes, else for these.
    public init(authenticator: Authenticator, configuration: GatehouseConfiguration, scopesSupported: [String]) {
        self.authenticator = authenticator
        self.urls = PublicURLs(configuration: configuration)
        self.scopesSupported = scopesSupported
        let required = authenticator.settings.requiredScopes
        self.challenges = BearerChallenges(urls: urls, challengeScopes: required.isEmpty ? scopesSupported : required)
    }

    /// The middleware that authenticates requests to the protected endpoint.
    public func middleware<Context: GatehouseContext>() -> AuthMiddleware<Context> {
        AuthMiddleware(authenticator: authenticator, challenges: challenges)
    }

    /// Serves the discovery documents, readable from any origin.
    public func register<Context: GatehouseContext>(on router: Router<Context>) {
        let documents = router.group().add(middleware: CORSMiddleware(audience: .anyOrigin))
        // RFC 9728 §3.1 path-aware location first, then the root location clients also try.
        let mcpPath = urls.configuration.mcpPath
        var paths = [PublicURLs.metadataPath + mcpPath, PublicURLs.metadataPath]
        if let prefix = urls.configuration.explicitBaseURL?.pathPrefix, !prefix.isEmpty {
            paths.append(PublicURLs.metadataPath + prefix + mcpPath)
        }
        for path in paths {
            documents.get(RouterPath(path)) { request, _ in try protectedResourceMetadata(request) }.preflight(RouterPath(path))
        }
        guard let provider = authenticator.providerMetadata else { return }
        for (path, kind) in [("/.well-known/oauth-authorization-server", ProviderMetadata.Kind.oauth), ("/.well-known/openid-configuration", .openID)] {
            documents.get(RouterPath(path)) { _, context in await mirror(provider, kind, logger: context.logger) }.preflight(RouterPath(path))
        }
    }

    private func protectedResourceMetadata(_ request: Request) throws -> Response {
        let base = urls.base(for: request)
        let metadata = ProtectedResourceMetadata(
            resource: urls.resource(base),
            authorizationServers: authenticator.settings.advertisedAuthorizationServer.map { [$0] } ?? [],
            scopesSupported: scopesSupported, resourceName: authenticator.settings.resourceName)
        return JSONResponse.make(bytes: try Self.encoder.encode(metadata), cache: "public, max-age=300")
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return encoder
    }()

    private func mirror(_ provider: ProviderMetadata, _ kind: ProviderMetadata.Kind, logger: Logger) async -> Response {
        do {
            return JSONResponse.make(bytes: try await provider.document(kind).json, cache: "public, max-age=300")
        } catch {
            logger.warning("cannot mirror the provider's metadata", metadata: ["error": "\(error)"])
            return JSONResponse.error(
                .badGateway, code: "temporarily_unavailable",
                description: "the authorization server's metadata cannot be fetched; fetch it from \(provider.issuer)")
        }
    }
}
