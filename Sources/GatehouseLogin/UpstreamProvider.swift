import Crypto
import Foundation
import GatehouseCore
import GatehouseOAuth

/// An identity provider people are sent to when they sign in to the embedded authorization
/// server: an OpenID Connect provider, a plain OAuth 2.0 provider, or WorkOS User Management.
///
/// A provider turns a round trip into the URL the browser goes to, redeems the code that comes
/// back for the person's identity and the provider's tokens, and later says whether the person
/// is still signed in there.
public protocol UpstreamProvider: Sendable {
    /// The provider's name as people know it ("Continue with …").
    var displayName: String { get }
    /// The provider's authorization endpoint with the round trip's parameters.
    func authorizationURL(for trip: UpstreamRoundTrip) async throws(UpstreamLoginError) -> String
    /// Redeems the code from the provider's callback.
    func signIn(code: String, trip: UpstreamRoundTrip) async throws(UpstreamLoginError) -> UpstreamSignIn
    /// Whether the person is still signed in at the provider, and the tokens to keep (refreshed
    /// when the provider rotated them).
    func recheck(_ tokens: UpstreamTokens) async -> (LoginSessionVerdict, UpstreamTokens?)
    /// What is wrong with the provider's configuration, found without a person signing in.
    func startupProblems() async -> [String]
}

/// One person's round trip to the provider: the parameters sent with the authorization
/// request and repeated (or checked) when the code is redeemed.
public struct UpstreamRoundTrip: Sendable, Equatable {
    /// RFC 6749 §10.12: ties the callback to this round trip.
    public var state: String
    /// RFC 7636: the PKCE verifier; the provider gets its S256 challenge.
    public var codeVerifier: String
    /// OpenID Connect Core §3.1.2.1: echoed in the ID token, against replay.
    public var nonce: String
    /// This server's callback URL, registered at the provider.
    public var redirectURI: String

    public init(state: String, codeVerifier: String, nonce: String, redirectURI: String) {
        self.state = state
        self.codeVerifier = codeVerifier
        self.nonce = nonce
        self.redirectURI = redirectURI
    }

    /// A round trip with fresh random values.
    public static func fresh(redirectURI: String) -> UpstreamRoundTrip {
        UpstreamRoundTrip(
            state: SecretToken.generate(), codeVerifier: SecretToken.generate(), nonce: SecretToken.generate(), redirectURI: redirectURI)
    }

    public var codeChallenge: String { Base64URL.encode(SHA256.hash(data: Data(codeVerifier.utf8))) }

    /// `endpoint` with `parameters` added to its query.
    static func url(_ endpoint: String, _ parameters: [(String, String)]) -> String {
        var components = URLComponents(string: endpoint) ?? URLComponents()
        let existing = (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }
        components.percentEncodedQuery = URLEncoding.query(existing + parameters)
        return components.string ?? endpoint
    }
}

/// A completed sign-in at the provider.
public struct UpstreamSignIn: Sendable, Equatable {
    public var identity: UpstreamIdentity
    public var tokens: UpstreamTokens
}

/// The provider's tokens for one login. Sealed before they are stored; never logged.
public struct UpstreamTokens: Sendable, Equatable {
    public var accessToken: String
    public var refreshToken: String?
    public var expiresAt: Date?

    public init(accessToken: String, refreshToken: String?, expiresAt: Date?) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresAt = expiresAt
    }

    /// The tokens of a token response (RFC 6749 §5.1); `previous` supplies the refresh token
    /// when a refresh response leaves it out (the old one stays valid, §6).
    init?(response fields: [String: JSONValue], previous: UpstreamTokens? = nil, now: Date = Date()) {
        guard let accessToken = fields["access_token"]?.stringValue, !accessToken.isEmpty else { return nil }
        self.accessToken = accessToken
        refreshToken = fields["refresh_token"]?.stringValue ?? previous?.refreshToken
        expiresAt = fields["expires_in"]?.intValue.map { now.addingTimeInterval(TimeInterval($0)) }
    }

    var json: JSONValue {
        [
            "access_token": .string(accessToken),
            "refresh_token": refreshToken.map(JSONValue.string) ?? .null,
            "expires_at": expiresAt.map { .int(Int($0.timeIntervalSince1970)) } ?? .null,
        ]
    }

    init?(json: JSONValue) {
        guard let accessToken = json.objectValue?["access_token"]?.stringValue else { return nil }
        self.accessToken = accessToken
        refreshToken = json.objectValue?["refresh_token"]?.stringValue
        expiresAt = json.objectValue?["expires_at"]?.intValue.map { Date(timeIntervalSince1970: TimeInterval($0)) }
    }
}

/// Why a sign-in at the provider did not complete, in words for the person and the operator.
public enum UpstreamLoginError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The person (or the provider's policy) said no: the client gets `access_denied`.
    case denied(String)
    /// The provider cannot be reached or failed: `temporarily_unavailable`.
    case unavailable(String)
    /// The operator must change something: `problem` says what is wrong, `fix` what to do.
    case misconfigured(problem: String, fix: String)
    /// The provider answered something Gatehouse cannot accept (a bad ID token, no subject).
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .denied(let reason), .unavailable(let reason), .invalidResponse(let reason): reason
        case .misconfigured(let problem, let fix): "\(problem); \(fix)"
        }
    }
}
