import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseHub
import GatehouseLogin
import GatehouseOAuth
import Hummingbird
import Logging
import ServiceLifecycle

/// The embedded OAuth 2.1 authorization server, mounted: RFC 8414 metadata, JWKS, Dynamic
/// Client Registration, `/authorize` with the consent and sign-in page, `/token`, `/revoke`,
/// `/introspect`, `/auth/callback` when people sign in through an upstream identity provider;
/// and the background purge of what expired.
public struct AuthorizationServerMount: Sendable {
    public let server: AuthorizationServer
    let api: AuthorizationServerRoutes
    let authorize: AuthorizeRoutes
    /// `/auth/callback`, when people sign in through an upstream provider.
    let callback: UpstreamCallbackRoutes?
    let logger: Logger

    /// Builds the server whose issuer is the public base URL, on `store`, and prepares its
    /// signing key (creating the first one, sealed, when the store has none).
    ///
    /// - Parameters:
    ///   - servesOwnResource: true when this process's MCP endpoint is one of the resources it
    ///     issues tokens for (the hub); false for a standalone `gatehouse idp`.
    ///   - rateCounter: counts client registrations; pass the store's (``Stores/rateCounter``) so
    ///     instances sharing a store share the budget.
    ///   - signInFailures: counts failed sign-ins; pass the store's (``Stores/signInFailures``)
    ///     so instances sharing a store share the throttle; `nil` counts in memory.
    public static func make(
        configuration: GatehouseConfiguration, store: any AuthorizationStore, scopesSupported: [String],
        servesOwnResource: Bool = true, rateCounter: any RateCounter = LocalRateCounter(),
        signInFailures: (any SignInFailureRecords)? = nil, logger: Logger = Logger(label: "gatehouse.oauth")
    ) async throws(StartupProblem) -> AuthorizationServerMount {
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
        settings.signInThrottle.firstDelay = embedded.signInFirstWait.inSeconds
        let secrets = try sealingBox(configuration)
        let base = configuration.baseURL()
        let cookies = BrowserCookies(secure: base.scheme == "https", issuer: settings.issuer)
        guard let upstreamSettings = configuration.upstreamLogin else {
            let server = AuthorizationServer(
                settings: settings, store: store, secrets: secrets, rateCounter: rateCounter, signInFailures: signInFailures, logger: logger)
            try await prepare(server, configuration)
            return AuthorizationServerMount(
                server: server, api: routes(server, base, logger),
                authorize: AuthorizeRoutes(
                    server: server, method: .password, autoApproveUser: embedded.devAutoApprove ? embedded.devUser : nil, cookies: cookies),
                callback: nil, logger: logger)
        }
        let provider = UpstreamProviders.make(upstreamSettings, logger: logger)
        let sessions = UpstreamSessions(provider: provider, store: store, secrets: secrets)
        let directClient: OAuthClient
        do {
            directClient = try UpstreamProviders.directClient(upstreamSettings)
        } catch {
            throw StartupProblem("GATEHOUSE_UPSTREAM_DIRECT_REDIRECT_URIS: \(error.description)")
        }
        let server = AuthorizationServer(
            settings: settings, store: store, secrets: secrets, directClients: [directClient],
            loginCheck: upstreamSettings.recheckOnRefresh ? sessions : nil, rateCounter: rateCounter, signInFailures: signInFailures,
            logger: logger)
        try await prepare(server, configuration)
        let callbackURL = base.url(for: UpstreamCallbackRoutes.path)
        let problems = await provider.startupProblems()
        if !problems.isEmpty {
            let summary = problems.joined(separator: "; ")
            guard configuration.auth.lazyProvider else {
                throw StartupProblem("upstream sign-in through \(provider.displayName) cannot work: \(summary) (or start with --lazy-provider)")
            }
            logger.error("upstream sign-in through \(provider.displayName) may not work: \(summary)")
        }
        logger.info(
            "people sign in through \(provider.displayName); register \(callbackURL) as a redirect URI of client \(upstreamSettings.clientID) there")
        let upstream = UpstreamLogin(
            provider: provider, server: server, sessions: sessions, secrets: secrets, callbackURL: callbackURL, logger: logger)
        return AuthorizationServerMount(
            server: server, api: routes(server, base, logger),
            authorize: AuthorizeRoutes(server: server, method: .upstream(upstream), autoApproveUser: nil, cookies: cookies),
            callback: UpstreamCallbackRoutes(upstream: upstream, server: server, cookies: cookies), logger: logger)
    }

    /// Creates the first signing key (sealed) when the store has none, and purges what expired.
    private static func prepare(_ server: AuthorizationServer, _ configuration: GatehouseConfiguration) async throws(StartupProblem) {
        do {
            _ = try await server.keys.activeKey()
            try await server.purgeExpired()
        } catch {
            throw StartupProblem("cannot prepare the signing key in \(configuration.storeLocation): \(error)")
        }
    }

    /// Introspection answers for tokens of every resource this server issues for.
    private static func routes(_ server: AuthorizationServer, _ base: PublicBaseURL, _ logger: Logger) -> AuthorizationServerRoutes {
        AuthorizationServerRoutes(server: server, verifier: server.tokenVerifier(logger: logger), issuerPath: base.pathPrefix)
    }

    /// The box that seals the signing keys: `GATEHOUSE_SECRET_KEY`, else the key file beside the
    /// database (created 0600 on first start).
    public static func sealingBox(_ configuration: GatehouseConfiguration) throws(StartupProblem) -> SecretBox {
        do {
            return try SecretBox.authorizationServer(configuredKey: configuration.hub.secretKey, keyFile: configuration.sealingKeyFile)
        } catch {
            throw StartupProblem(
                "cannot read or create the key file \(configuration.sealingKeyFile): \(error); set GATEHOUSE_KEY_FILE or GATEHOUSE_SECRET_KEY")
        }
    }

    /// The resource-server side for this process's own MCP endpoint: tokens this server issued
    /// for `audiences` (RFC 8707, MCP authorization "Token Audience Binding": not those it issued
    /// for its other resources), verified in-process against its key ring.
    public func authenticator(configuration: GatehouseConfiguration) -> Authenticator {
        var settings = configuration.auth
        settings.authorizationServer = settings.authorizationServer ?? server.settings.issuer
        let audiences = settings.audiences.isEmpty ? [configuration.resourceURL] : settings.audiences
        let verifier = CachingVerifier(server.tokenVerifier(audiences: audiences, logger: logger))
        return Authenticator(settings: settings, verifier: verifier, providerMetadata: nil)
    }

    /// Who is signed in to this server in a browser, as a hub user of `users`: for the hub's own
    /// pages.
    func browserAccount(users: UserDirectory) -> BrowserAccount {
        BrowserAccount(server: server, cookies: authorize.cookies, users: users, passwordSignIn: authorize.signsInWithPassword)
    }

    /// Mounts the metadata, API and `/authorize` routes.
    public func register<Context: GatehouseContext>(on router: Router<Context>) {
        api.register(on: router)
        authorize.register(on: router)
        callback?.register(on: router)
    }

    /// Background work while the server runs: every ten minutes, the purge of expired codes and
    /// tokens and of registrations never used.
    public var services: [any Service] {
        [StorePurgeService(server: server, interval: .seconds(600), logger: logger)]
    }
}
