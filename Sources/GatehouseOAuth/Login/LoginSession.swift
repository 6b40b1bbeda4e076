import Foundation

/// One sign-in through an upstream provider: whose it was, and the provider's tokens, sealed.
/// Codes and refresh families issued from it carry its id, so a refresh can ask the provider
/// whether the person is still signed in there.
public struct LoginSession: Sendable, Equatable {
    public var id: String
    public var userID: String
    public var organizationID: String?
    /// The provider's tokens, sealed with the server's secret key (never stored in the clear).
    public var sealedTokens: Data
    public var createdAt: Date
    /// When the provider last confirmed the person is signed in.
    public var checkedAt: Date

    public init(id: String, userID: String, organizationID: String?, sealedTokens: Data, createdAt: Date, checkedAt: Date) {
        self.id = id
        self.userID = userID
        self.organizationID = organizationID
        self.sealedTokens = sealedTokens
        self.createdAt = createdAt
        self.checkedAt = checkedAt
    }
}

/// A person sent to the upstream provider, waiting for the provider's callback. Stored by the
/// hash of the `state` sent upstream and taken exactly once, so the callback may reach any
/// instance sharing the store, and a replayed callback finds nothing.
public struct PendingLogin: Sendable, Equatable {
    public var stateHash: String
    /// The authorization request, sealed (``AuthorizationServer/seal(_:browserBinding:)``).
    public var sealedRequest: String
    /// The PKCE verifier, nonce and remembered user for the provider round trip, sealed.
    public var sealedSecrets: Data
    public var expiresAt: Date

    public init(stateHash: String, sealedRequest: String, sealedSecrets: Data, expiresAt: Date) {
        self.stateHash = stateHash
        self.sealedRequest = sealedRequest
        self.sealedSecrets = sealedSecrets
        self.expiresAt = expiresAt
    }
}

/// What a user approved for a client: remembered so the consent page is not shown again for
/// the same client, redirect URI, resource and (a subset of the) scopes.
public struct Consent: Sendable, Equatable {
    public var userID: String
    public var clientID: String
    public var redirectURI: String
    public var resource: String
    public var scopes: [String]
    public var grantedAt: Date

    public init(userID: String, clientID: String, redirectURI: String, resource: String, scopes: [String], grantedAt: Date) {
        self.userID = userID
        self.clientID = clientID
        self.redirectURI = redirectURI
        self.resource = resource
        self.scopes = scopes
        self.grantedAt = grantedAt
    }

    /// True when this consent already covers `request`.
    public func covers(_ request: AuthorizationRequest) -> Bool {
        clientID == request.client.id && redirectURI == request.redirectURI && resource == request.resource
            && Set(request.scopes).isSubset(of: Set(scopes))
    }
}
