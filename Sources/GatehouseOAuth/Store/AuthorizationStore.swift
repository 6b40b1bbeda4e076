import Foundation

/// Where the authorization server keeps what must survive a restart and be shared by every
/// instance: clients, authorization codes, refresh-token families, signing keys and the
/// local user directory, and the state of sign-ins through an upstream provider.
///
/// Secrets never reach the store in the clear: codes, refresh tokens and client secrets are
/// passed as ``SecretToken/hash`` values. Every method that decides whether a one-time
/// credential may be used, or changes the signing keys, takes a rule value from the engine
/// (``CodeUse``, ``RefreshRotation``, ``SigningKeyRotation``), reads what the rule needs while
/// holding it exclusively, and applies the rule's decision in the same transaction: the rules live
/// here, not in SQL, so every backend applies the same ones, and two instances racing on the
/// same code cannot both win.
///
/// `GatehouseSQLite.SQLiteStore` is the embedded implementation; a PostgreSQL one can follow
/// without touching callers.
public protocol AuthorizationStore: Sendable {
    // MARK: Clients

    /// Stores a newly registered client.
    func insertClient(_ client: RegisteredClient) async throws
    /// The registered client with this id, or `nil`.
    func client(id: String) async throws -> RegisteredClient?
    /// Records that the client was used (a code was issued to it); registrations never used
    /// expire (``purge(_:)``).
    func recordClientUse(id: String, now: Date) async throws

    // MARK: Authorization codes

    /// Stores an issued authorization code.
    func insertCode(_ code: AuthorizationCodeRecord) async throws
    /// Presents the code `hash` to `use` while holding it exclusively, and applies the decision:
    /// on ``CodeUse/Decision/redeem(_:)`` marks it used and links it to the use's family.
    func presentCode(hash: String, to use: CodeUse) async throws -> CodeUse.Decision

    // MARK: Refresh tokens

    /// Creates a refresh-token family with its first token.
    func createFamily(_ family: RefreshFamily, firstToken: RefreshTokenRecord) async throws
    /// Presents the refresh token `hash` to `rotation` while holding it exclusively (one
    /// transaction, or a row lock) and applies what it decides, so concurrent presentations of
    /// one token, also from other processes, are decided one after another.
    func presentRefreshToken(hash: String, to rotation: RefreshRotation) async throws -> RefreshRotation.Decision
    /// The token and its family, for introspection.
    func refreshToken(hash: String) async throws -> (RefreshTokenRecord, RefreshFamily)?
    /// Revokes a family (all of its refresh tokens).
    func revokeFamily(id: String, now: Date) async throws

    // MARK: Signing keys

    /// Every stored signing key, newest first.
    func signingKeys() async throws -> [StoredSigningKey]
    /// Plans `rotation` on the stored keys and applies the plan, in one transaction.
    func rotateSigningKeys(_ rotation: SigningKeyRotation) async throws -> SigningKeyRotation.Plan
    /// Replaces the stored form of a key's private key (sealed again under the current key).
    func resealSigningKey(keyID: String, privateKey: Data) async throws

    // MARK: Local users

    /// Creates the user; `nil` when a user with the same email exists (which stays unchanged).
    func insertLocalUser(_ user: LocalUser) async throws -> LocalUser?
    /// Changes the name and password of the user with this email; `nil` when there is none.
    func updateLocalUser(email: String, name: String?, passwordHash: String) async throws -> LocalUser?
    func localUser(email: String) async throws -> LocalUser?
    func localUser(id: String) async throws -> LocalUser?
    /// How many local users exist.
    func localUserCount() async throws -> Int

    // MARK: Upstream sign-in

    /// The user linked to `identity`, its email and name brought up to date; or, for an identity
    /// seen for the first time, a new user `newUserID` linked to it, unless its email is taken.
    func provisionUpstreamUser(_ identity: UpstreamIdentity, newUserID: String, now: Date) async throws -> UpstreamProvisioning
    /// Stores a person's round trip to the provider.
    func insertPendingLogin(_ login: PendingLogin) async throws
    /// Removes and returns the round trip whose `state` hashes to `stateHash`: a callback is taken once.
    func takePendingLogin(stateHash: String) async throws -> PendingLogin?
    func insertLoginSession(_ session: LoginSession) async throws
    func loginSession(id: String) async throws -> LoginSession?
    /// Stores the provider's tokens again (refreshed) and when they were last confirmed.
    func updateLoginSession(id: String, sealedTokens: Data, checkedAt: Date) async throws
    /// Records (or replaces) what a user approved for a client.
    func recordConsent(_ consent: Consent) async throws
    func consent(userID: String, clientID: String) async throws -> Consent?

    // MARK: Housekeeping

    /// Deletes what expired and what outlived its use, as `cutoffs` says.
    func purge(_ cutoffs: PurgeCutoffs) async throws
}

/// What ``AuthorizationStore/purge(_:)`` removes.
public struct PurgeCutoffs: Sendable, Equatable {
    /// Codes, refresh tokens and families that expired before this instant.
    public var expiredBefore: Date
    /// Sealed successors of refresh tokens rotated before this instant (their grace is over).
    public var successorsRotatedBefore: Date
    /// Registrations never used and made before this instant.
    public var unusedClientsRegisteredBefore: Date
    /// Upstream login sessions begun before this instant (no refresh family outlives them).
    public var loginSessionsCreatedBefore: Date

    public init(
        expiredBefore: Date, successorsRotatedBefore: Date, unusedClientsRegisteredBefore: Date, loginSessionsCreatedBefore: Date
    ) {
        self.expiredBefore = expiredBefore
        self.successorsRotatedBefore = successorsRotatedBefore
        self.unusedClientsRegisteredBefore = unusedClientsRegisteredBefore
        self.loginSessionsCreatedBefore = loginSessionsCreatedBefore
    }
}

/// A client registered with Dynamic Client Registration (RFC 7591).
public struct RegisteredClient: Sendable, Equatable {
    public var id: String
    /// SHA-256 of the client secret, for confidential clients.
    public var secretHash: String?
    public var metadata: ClientMetadata
    public var registeredAt: Date

    public init(id: String, secretHash: String?, metadata: ClientMetadata, registeredAt: Date) {
        self.id = id
        self.secretHash = secretHash
        self.metadata = metadata
        self.registeredAt = registeredAt
    }
}

/// What a user approved for a client: who, which scopes, for which resource.
public struct AuthorizationGrant: Sendable, Equatable {
    public var clientID: String
    /// The local user's id, the `sub` of issued tokens.
    public var subject: String
    public var scopes: [String]
    /// The RFC 8707 resource the tokens are for: their `aud`.
    public var resource: String
    public var authTime: Date
    /// The upstream login the grant came from (``LoginSession``); `nil` for local passwords.
    public var loginSessionID: String?

    public init(clientID: String, subject: String, scopes: [String], resource: String, authTime: Date, loginSessionID: String? = nil) {
        self.clientID = clientID
        self.subject = subject
        self.scopes = scopes
        self.resource = resource
        self.authTime = authTime
        self.loginSessionID = loginSessionID
    }
}

/// An issued authorization code (RFC 6749 §4.1.2), stored by hash.
public struct AuthorizationCodeRecord: Sendable, Equatable {
    public var hash: String
    public var grant: AuthorizationGrant
    /// The `redirect_uri` of the authorization request, compared again at the token endpoint;
    /// `nil` when the request carried none (the client's only registered URI was used).
    public var redirectURI: String?
    /// The PKCE S256 challenge.
    public var codeChallenge: String
    public var expiresAt: Date

    public init(hash: String, grant: AuthorizationGrant, redirectURI: String?, codeChallenge: String, expiresAt: Date) {
        self.hash = hash
        self.grant = grant
        self.redirectURI = redirectURI
        self.codeChallenge = codeChallenge
        self.expiresAt = expiresAt
    }
}

/// The refresh tokens descending from one authorization (RFC 6749 §10.4, OAuth 2.1 §4.3.1).
public struct RefreshFamily: Sendable, Equatable {
    public var id: String
    public var grant: AuthorizationGrant
    public var createdAt: Date
    /// The family's absolute end: rotation never extends a login past it.
    public var expiresAt: Date
    public var revokedAt: Date?

    public init(id: String, grant: AuthorizationGrant, createdAt: Date, expiresAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.grant = grant
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}

/// One refresh token of a family, stored by hash.
public struct RefreshTokenRecord: Sendable, Equatable {
    public var hash: String
    public var familyID: String
    public var issuedAt: Date
    public var expiresAt: Date
    /// When the token was exchanged for its successor; `nil` while it is current.
    public var rotatedAt: Date?

    public init(hash: String, familyID: String, issuedAt: Date, expiresAt: Date, rotatedAt: Date? = nil) {
        self.hash = hash
        self.familyID = familyID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.rotatedAt = rotatedAt
    }
}

/// A signing key as stored.
public struct StoredSigningKey: Sendable, Equatable {
    public var keyID: String
    /// The private key (P-256 raw representation).
    public var privateKey: Data
    public var createdAt: Date
    /// When a newer key replaced it; it stays published until its tokens have expired.
    public var retiredAt: Date?

    public init(keyID: String, privateKey: Data, createdAt: Date, retiredAt: Date? = nil) {
        self.keyID = keyID
        self.privateKey = privateKey
        self.createdAt = createdAt
        self.retiredAt = retiredAt
    }
}

/// A user of the embedded authorization server's own directory.
public struct LocalUser: Sendable, Equatable {
    /// Stable random id: the `sub` of the user's tokens.
    public var id: String
    public var email: String
    public var name: String?
    /// ``PasswordHasher`` output; `nil` for a user who can only be signed in by auto-approval.
    public var passwordHash: String?
    public var createdAt: Date

    public init(id: String, email: String, name: String?, passwordHash: String?, createdAt: Date) {
        self.id = id
        self.email = email
        self.name = name
        self.passwordHash = passwordHash
        self.createdAt = createdAt
    }
}
