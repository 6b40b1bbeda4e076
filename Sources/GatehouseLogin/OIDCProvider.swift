import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress
import GatehouseOAuth
import Logging

/// Any OpenID Connect provider, found by discovery from its issuer: the authorization code flow
/// with PKCE, `state` and `nonce`, and the ID token verified before anyone is signed in.
public struct OIDCProvider: UpstreamProvider {
    public let displayName: String
    let issuer: String
    let clientID: String
    let clientSecret: SecretString
    let scopes: [String]
    let metadata: ProviderMetadata
    let keys: JWKSCache
    let fetcher: EgressClient
    let now: @Sendable () -> Date

    public init(
        issuer: String, clientID: String, clientSecret: SecretString, scopes: [String], displayName: String,
        fetcher: EgressClient = EgressClient(), logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        let metadata = ProviderMetadata(issuer: issuer, fetcher: fetcher, logger: logger)
        self.displayName = displayName
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scopes = scopes
        self.metadata = metadata
        self.fetcher = fetcher
        self.now = now
        keys = JWKSCache(logger: logger) {
            guard let url = try await metadata.document(.openID).fields["jwks_uri"]?.stringValue else {
                throw ProviderProblem("the provider's discovery document has no jwks_uri")
            }
            let response = try await fetcher.get(url)
            guard response.status == 200 else { throw ProviderProblem("\(url) answered HTTP \(response.status)") }
            return response.body
        }
    }

    public func authorizationURL(for trip: UpstreamRoundTrip) async throws(UpstreamLoginError) -> String {
        let endpoint = try await endpoint("authorization_endpoint")
        return UpstreamRoundTrip.url(
            endpoint,
            [
                ("response_type", "code"), ("client_id", clientID), ("redirect_uri", trip.redirectURI),
                ("scope", scopes.joined(separator: " ")), ("state", trip.state), ("nonce", trip.nonce),
                ("code_challenge", trip.codeChallenge), ("code_challenge_method", "S256"),
            ])
    }

    public func signIn(code: String, trip: UpstreamRoundTrip) async throws(UpstreamLoginError) -> UpstreamSignIn {
        let fields = try await tokenEndpoint().redeem(code: code, trip: trip)
        guard let tokens = UpstreamTokens(response: fields, now: now()) else {
            throw .invalidResponse("the identity provider's token response has no access_token")
        }
        guard let idToken = fields["id_token"]?.stringValue else {
            throw .invalidResponse("the identity provider returned no ID token; is the openid scope allowed for this application?")
        }
        let claims = try await verifiedClaims(idToken, nonce: trip.nonce)
        var identity = UpstreamIdentity(
            issuer: issuer, subject: claims["sub"]?.stringValue ?? "", email: claims["email"]?.stringValue,
            name: StandardClaims.name(claims))
        if identity.email == nil || identity.name == nil, let profile = await userInfo(tokens.accessToken),
            profile["sub"]?.stringValue == identity.subject
        {
            identity.email = identity.email ?? profile["email"]?.stringValue
            identity.name = identity.name ?? StandardClaims.name(profile)
        }
        return UpstreamSignIn(identity: identity, tokens: tokens)
    }

    public func recheck(_ tokens: UpstreamTokens) async -> (LoginSessionVerdict, UpstreamTokens?) {
        guard let refreshToken = tokens.refreshToken else {
            // Without a refresh token the login can be checked only while the access token lasts.
            if let expiresAt = tokens.expiresAt, expiresAt <= now() { return (.signedIn, nil) }
            guard let url = try? await metadata.document(.openID).fields["userinfo_endpoint"]?.stringValue else { return (.signedIn, nil) }
            return (await UserInfoCheck.verdict(url: url, accessToken: tokens.accessToken, fetcher: fetcher), nil)
        }
        do {
            let endpoint = try await tokenEndpoint()
            let fields = try await endpoint.refresh(refreshToken)
            return (.signedIn, UpstreamTokens(response: fields, previous: tokens, now: now()))
        } catch {
            return (error.verdict, nil)
        }
    }

    public func startupProblems() async -> [String] {
        let document: ProviderMetadata.Document
        do {
            document = try await metadata.document(.openID)
        } catch {
            return ["the OpenID Connect provider \(issuer) cannot be discovered: \(error)"]
        }
        var problems: [String] = []
        for field in ["authorization_endpoint", "token_endpoint", "jwks_uri"] where document.fields[field]?.stringValue == nil {
            problems.append("\(metadata.openIDConfigurationURL) has no \(field)")
        }
        if let methods = document.fields["code_challenge_methods_supported"]?.arrayValue?.compactMap(\.stringValue), !methods.contains("S256") {
            problems.append("\(issuer) does not list PKCE S256 in code_challenge_methods_supported; sign-in may fail")
        }
        return problems
    }

    /// The ID token's claims once its signature, `iss`, `aud` (this client), `exp` and `nonce`
    /// are checked (OpenID Connect Core §3.1.3.7).
    private func verifiedClaims(_ idToken: String, nonce: String) async throws(UpstreamLoginError) -> [String: JSONValue] {
        let verifier = JWTVerifier(issuer: issuer, audiences: [clientID], leeway: .seconds(60), keys: keys, now: now)
        let principal: Principal
        do {
            principal = try await verifier.verify(idToken)
        } catch {
            throw .invalidResponse("the identity provider's ID token was refused: \(error.description)")
        }
        guard principal.claims["nonce"]?.stringValue == nonce else {
            throw .invalidResponse("the identity provider's ID token carries another nonce (a replayed or mixed-up sign-in)")
        }
        // §3.1.3.7 item 4: with several audiences, `azp` must be this client.
        if ClaimsValidator.audiences(principal.claims).count > 1, principal.claims["azp"]?.stringValue != clientID {
            throw .invalidResponse("the identity provider's ID token was issued to another party (azp)")
        }
        return principal.claims
    }

    private func userInfo(_ accessToken: String) async -> [String: JSONValue]? {
        guard let url = try? await metadata.document(.openID).fields["userinfo_endpoint"]?.stringValue,
            let response = try? await fetcher.get(url, headers: [("Authorization", "Bearer \(accessToken)")]), response.status == 200
        else { return nil }
        return (try? JSONValue.parse(response.body))?.objectValue
    }

    private func endpoint(_ field: String) async throws(UpstreamLoginError) -> String {
        let document: ProviderMetadata.Document
        do {
            document = try await metadata.document(.openID)
        } catch {
            throw .unavailable("the identity provider cannot be reached (\(error))")
        }
        guard let url = document.fields[field]?.stringValue else {
            throw .misconfigured(
                problem: "\(metadata.openIDConfigurationURL) has no \(field)", fix: "check GATEHOUSE_UPSTREAM_ISSUER")
        }
        return url
    }

    private func tokenEndpoint() async throws(UpstreamLoginError) -> TokenEndpoint {
        let url = try await endpoint("token_endpoint")
        let methods = (try? await metadata.document(.openID).fields["token_endpoint_auth_methods_supported"])??.arrayValue?
            .compactMap(\.stringValue)
        // OpenID Connect Discovery §3: client_secret_basic is the default when none are listed.
        let authentication: ClientSecretMethod =
            methods.map { !$0.contains("client_secret_basic") && $0.contains("client_secret_post") } == true ? .post : .basic
        return TokenEndpoint(
            url: url, clientID: clientID, clientSecret: clientSecret, authentication: authentication,
            credentialSettings: "GATEHOUSE_UPSTREAM_CLIENT_ID and GATEHOUSE_UPSTREAM_CLIENT_SECRET", fetcher: fetcher)
    }
}

extension UpstreamLoginError {
    /// What a failed refresh says about the login.
    var verdict: LoginSessionVerdict {
        switch self {
        case .unavailable(let reason): .unreachable(reason: reason)
        case .denied(let reason), .invalidResponse(let reason): .signedOut(reason: reason)
        case .misconfigured(let problem, _): .unreachable(reason: problem)
        }
    }
}

/// Asks a userinfo endpoint whether an access token is still accepted.
enum UserInfoCheck {
    static func verdict(url: String, accessToken: String, fetcher: EgressClient) async -> LoginSessionVerdict {
        do {
            let response = try await fetcher.get(url, headers: [("Authorization", "Bearer \(accessToken)")])
            switch response.status {
            case 200: return .signedIn
            case 401, 403: return .signedOut(reason: "the identity provider no longer accepts the login's token")
            default: return .unreachable(reason: "\(url) answered HTTP \(response.status)")
            }
        } catch {
            return .unreachable(reason: "\(error)")
        }
    }
}
