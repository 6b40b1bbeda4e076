import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress
import Logging

/// The embedded OAuth 2.1 authorization server: client registration, the authorization code
/// flow with PKCE, refresh-token rotation, revocation and introspection.
///
/// It is transport-free: the HTTP routes in GatehouseServer parse requests into
/// ``FormParameters`` and turn results and ``OAuthError``s into responses.
public struct AuthorizationServer: Sendable {
    public let settings: AuthorizationServerSettings
    public let store: any AuthorizationStore
    public let keys: KeyRing
    public let clients: ClientDirectory
    public let registrar: ClientRegistrar
    public let users: LocalUsers
    let minter: AccessTokenMinter
    /// Seals what the store keeps of secrets: signing keys, successors handed out again.
    let secrets: SecretBox
    /// Security events (code replay, refresh-token reuse) are logged here; never a token.
    let logger: Logger
    let now: @Sendable () -> Date
    /// Asks the upstream provider, on refresh, whether a login is still signed in there.
    let loginCheck: (any LoginSessionCheck)?

    /// - Parameters:
    ///   - secrets: seals the signing keys and refresh-token successors in the store; it must
    ///     have a key (`GATEHOUSE_SECRET_KEY`, else ``SealingKeyFile``).
    ///   - directClients: clients known without registering (the upstream provider's client id,
    ///     for clients given it out of band).
    ///   - loginCheck: asks the upstream provider on refresh whether a login still stands.
    ///   - rateCounter: counts registrations per address; the store's when instances share it.
    ///   - signInFailures: counts failed sign-ins; the store's when instances share it (else memory).
    public init(
        settings: AuthorizationServerSettings, store: any AuthorizationStore, secrets: SecretBox,
        fetcher: EgressClient? = nil, directClients: [OAuthClient] = [], loginCheck: (any LoginSessionCheck)? = nil,
        rateCounter: any RateCounter = LocalRateCounter(), signInFailures: (any SignInFailureRecords)? = nil,
        logger: Logger = Logger(label: "gatehouse.oauth"), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.settings = settings
        self.loginCheck = loginCheck
        self.store = store
        self.secrets = secrets
        self.logger = logger
        self.now = now
        keys = KeyRing(store: store, secrets: secrets, publishFor: settings.accessTokenLifetime + settings.leeway + 60, now: now)
        let documents = settings.acceptsClientMetadataDocuments
            ? ClientMetadataDocumentFetcher(
                fetcher: fetcher ?? EgressClient(timeout: .seconds(5), maxBytes: 64 * 1024),
                allowPrivateAddresses: settings.allowPrivateClientMetadataURLs, now: now)
            : nil
        clients = ClientDirectory(store: store, documents: documents, direct: directClients)
        registrar = ClientRegistrar(store: store, rateCounter: rateCounter, logger: logger, now: now)
        users = LocalUsers(
            store: store, throttle: SignInThrottle(policy: settings.signInThrottle, records: signInFailures), logger: logger, now: now)
        minter = AccessTokenMinter(
            issuer: settings.issuer, lifetime: settings.accessTokenLifetime, keys: keys, store: store, now: now)
    }

    /// Deletes expired codes and refresh tokens and registrations never used, and forgets
    /// refresh-token successors whose grace is over.
    public func purgeExpired() async throws {
        let current = now()
        try await store.purge(
            PurgeCutoffs(
                expiredBefore: current, successorsRotatedBefore: current.addingTimeInterval(-settings.refreshReuseGrace),
                unusedClientsRegisteredBefore: current.addingTimeInterval(-settings.unusedRegistrationLifetime),
                loginSessionsCreatedBefore: current.addingTimeInterval(-settings.refreshTokenLifetime)))
    }

    /// The RFC 8414 metadata document.
    public var metadata: JSONValue { settings.metadata.document }

    /// A verifier for the access tokens this server issues for `audiences` (default: every
    /// resource it serves, as introspection needs), reading keys from the key ring in-process
    /// (no HTTP round trip to its own JWKS). A resource server passes only its own resource.
    public func tokenVerifier(audiences: [String]? = nil, logger: Logger) -> any TokenVerifier {
        let keys = self.keys
        let cache = JWKSCache(ttl: .seconds(300), logger: logger) {
            var writer = JSONWriter()
            writer.value(try await keys.jwks(forceReload: true))
            return Data(writer.bytes)
        }
        return JWTVerifier(
            issuer: settings.issuer, audiences: audiences ?? settings.resources, algorithms: ["ES256"],
            leeway: .seconds(Int64(settings.leeway)), keys: cache, now: now)
    }
}
