import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress
import GatehouseOAuth

/// A plain OAuth 2.0 provider without OpenID Connect (GitHub and the like): the person's
/// identity is what its userinfo URL says about the access token.
public struct OAuth2Provider: UpstreamProvider {
    public let displayName: String
    let authorizeURL: String
    let tokenURL: String
    let userInfoURL: String
    let clientID: String
    let clientSecret: SecretString
    let scopes: [String]
    let fetcher: EgressClient
    let now: @Sendable () -> Date

    public init(
        authorizeURL: String, tokenURL: String, userInfoURL: String, clientID: String, clientSecret: SecretString, scopes: [String],
        displayName: String, fetcher: EgressClient = EgressClient(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.displayName = displayName
        self.authorizeURL = authorizeURL
        self.tokenURL = tokenURL
        self.userInfoURL = userInfoURL
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scopes = scopes
        self.fetcher = fetcher
        self.now = now
    }

    /// Identities are namespaced by the provider's origin (`https://github.com`).
    var identityIssuer: String {
        guard let components = URLComponents(string: authorizeURL), let scheme = components.scheme, let host = components.host else {
            return authorizeURL
        }
        return "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")"
    }

    public func authorizationURL(for trip: UpstreamRoundTrip) async throws(UpstreamLoginError) -> String {
        var parameters = [
            ("response_type", "code"), ("client_id", clientID), ("redirect_uri", trip.redirectURI), ("state", trip.state),
            ("code_challenge", trip.codeChallenge), ("code_challenge_method", "S256"),
        ]
        if !scopes.isEmpty { parameters.append(("scope", scopes.joined(separator: " "))) }
        return UpstreamRoundTrip.url(authorizeURL, parameters)
    }

    public func signIn(code: String, trip: UpstreamRoundTrip) async throws(UpstreamLoginError) -> UpstreamSignIn {
        let fields = try await tokenEndpoint.redeem(code: code, trip: trip)
        guard let tokens = UpstreamTokens(response: fields, now: now()) else {
            throw .invalidResponse("the identity provider's token response has no access_token")
        }
        let response: EgressClient.Response
        do {
            response = try await fetcher.get(userInfoURL, headers: [("Authorization", "Bearer \(tokens.accessToken)")])
        } catch {
            throw .unavailable("the identity provider's userinfo URL cannot be reached (\(error))")
        }
        guard response.status == 200, let profile = (try? JSONValue.parse(response.body))?.objectValue else {
            throw .invalidResponse("\(userInfoURL) answered HTTP \(response.status) instead of the signed-in person")
        }
        // `sub` (OpenID-style), else GitHub's numeric `id`.
        let subject = profile["sub"]?.stringValue ?? profile["id"]?.intValue.map(String.init) ?? profile["id"]?.stringValue
        guard let subject, !subject.isEmpty else {
            throw .invalidResponse("\(userInfoURL) names no sub or id for the signed-in person")
        }
        let name = StandardClaims.name(profile) ?? profile["login"]?.stringValue ?? profile["preferred_username"]?.stringValue
        return UpstreamSignIn(
            identity: UpstreamIdentity(issuer: identityIssuer, subject: subject, email: profile["email"]?.stringValue, name: name),
            tokens: tokens)
    }

    public func recheck(_ tokens: UpstreamTokens) async -> (LoginSessionVerdict, UpstreamTokens?) {
        if let refreshToken = tokens.refreshToken {
            do {
                let fields = try await tokenEndpoint.refresh(refreshToken)
                return (.signedIn, UpstreamTokens(response: fields, previous: tokens, now: now()))
            } catch {
                return (error.verdict, nil)
            }
        }
        if let expiresAt = tokens.expiresAt, expiresAt <= now() { return (.signedIn, nil) }
        return (await UserInfoCheck.verdict(url: userInfoURL, accessToken: tokens.accessToken, fetcher: fetcher), nil)
    }

    public func startupProblems() async -> [String] { [] }

    /// GitHub takes the credentials in the body only, so they go there.
    private var tokenEndpoint: TokenEndpoint {
        TokenEndpoint(
            url: tokenURL, clientID: clientID, clientSecret: clientSecret, authentication: .post,
            credentialSettings: "GATEHOUSE_UPSTREAM_CLIENT_ID and GATEHOUSE_UPSTREAM_CLIENT_SECRET", fetcher: fetcher)
    }
}
