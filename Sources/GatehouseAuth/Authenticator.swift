import Foundation
import GatehouseCore
import GatehouseEgress
import Logging

/// The resource server's authentication, assembled from ``AuthSettings``: the token
/// verifier, the provider's metadata, and what discovery documents advertise.
public struct Authenticator: Sendable {
    public let settings: AuthSettings
    public let verifier: any TokenVerifier
    /// The provider's metadata, for providers that publish it (AuthKit, JWT issuers).
    public let providerMetadata: ProviderMetadata?

    public init(settings: AuthSettings, verifier: any TokenVerifier, providerMetadata: ProviderMetadata?) {
        self.settings = settings
        self.verifier = verifier
        self.providerMetadata = providerMetadata
    }

    /// Builds the authenticator for `settings`, or `nil` when authentication is off.
    ///
    /// Unless `lazyProvider` is set, the provider's metadata is fetched once first, so a wrong
    /// domain or issuer stops start-up with the fix instead of failing every request later.
    ///
    /// - Parameter resourceURL: the canonical URL of the MCP endpoint, the default audience.
    public static func make(
        settings: AuthSettings, resourceURL: String, fetcher: EgressClient = EgressClient(), logger: Logger
    ) async throws(StartupProblem) -> Authenticator? {
        let audiences = settings.audiences.isEmpty ? [resourceURL] : settings.audiences
        switch settings.provider {
        case .none:
            return nil
        case .embedded:
            throw StartupProblem("the embedded authorization server's authenticator is built with the server (GatehouseServer.make)")
        case .staticTokens(let tokens):
            return Authenticator(settings: settings, verifier: StaticTokenVerifier(tokens: tokens), providerMetadata: nil)
        case .introspection(let introspection):
            let verifier = IntrospectionVerifier(introspection, audiences: audiences, fetcher: fetcher)
            return Authenticator(settings: settings, verifier: CachingVerifier(verifier, maxAge: .seconds(60)), providerMetadata: nil)
        case .authKit(let domain):
            let metadata = try await providerMetadata(issuer: domain, settings: settings, fetcher: fetcher, logger: logger)
            let jwt = jwtVerifier(
                issuer: domain, jwksURI: { try await metadata.validate().fields["jwks_uri"]?.stringValue ?? domain + "/oauth2/jwks" },
                audiences: audiences, settings: settings, fetcher: fetcher, logger: logger)
            let opaque = CachingVerifier(
                UserInfoVerifier(userInfoURL: domain + "/oauth2/userinfo", issuer: domain, fetcher: fetcher), maxAge: .seconds(60))
            return Authenticator(
                settings: settings, verifier: JWTOrOpaqueVerifier(jwt: CachingVerifier(jwt), opaque: opaque),
                providerMetadata: metadata)
        case .jwt(let issuer, let configuredJWKS):
            let metadata = try await providerMetadata(issuer: issuer, settings: settings, fetcher: fetcher, logger: logger)
            let jwt = jwtVerifier(
                issuer: issuer,
                jwksURI: {
                    if let configuredJWKS { return configuredJWKS }
                    guard let discovered = try await metadata.validate().fields["jwks_uri"]?.stringValue else {
                        throw ProviderProblem("the issuer's metadata has no jwks_uri; set MCP_JWT_JWKS_URI")
                    }
                    return discovered
                },
                audiences: audiences, settings: settings, fetcher: fetcher, logger: logger)
            return Authenticator(settings: settings, verifier: CachingVerifier(jwt), providerMetadata: metadata)
        }
    }

    /// The provider's metadata, validated now unless the provider is lazy.
    private static func providerMetadata(
        issuer: String, settings: AuthSettings, fetcher: EgressClient, logger: Logger
    ) async throws(StartupProblem) -> ProviderMetadata {
        let metadata = ProviderMetadata(issuer: issuer, fetcher: fetcher, logger: logger)
        guard !settings.lazyProvider else { return metadata }
        do {
            _ = try await metadata.validate()
        } catch {
            throw StartupProblem("\(error.description) (or pass --lazy-provider to start anyway)")
        }
        return metadata
    }

    private static func jwtVerifier(
        issuer: String, jwksURI: @escaping @Sendable () async throws -> String, audiences: [String], settings: AuthSettings,
        fetcher: EgressClient, logger: Logger
    ) -> JWTVerifier {
        let keys = JWKSCache(ttl: settings.jwksCacheTTL, logger: logger) { () async throws -> Data in
            let jwksURI = try await jwksURI()
            let response = try await fetcher.get(jwksURI)
            guard response.status == 200 else { throw ProviderProblem("\(jwksURI) answered HTTP \(response.status)") }
            return response.body
        }
        return JWTVerifier(
            issuer: issuer, audiences: audiences, algorithms: settings.algorithms, leeway: settings.leeway, keys: keys)
    }
}
