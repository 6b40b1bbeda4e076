import Foundation
import GatehouseCore
import GatehouseEgress

/// One authorization-code sign-in with PKCE S256, between sending the person's browser to the
/// authorization server and the answer coming back to the redirect URI.
///
/// It is a value, so the waiting half can live anywhere: in memory while `gatehouse login`
/// listens on its loopback callback, or sealed in a store while a server waits for its own
/// callback on any of its instances. It holds the PKCE verifier and the client's secret, so a
/// server keeps it sealed.
public struct PendingSignIn: Sendable, Codable, Equatable {
    /// The MCP server being signed in to.
    public var serverURL: String
    /// The RFC 8707 resource the tokens are for; `nil` at a plain OAuth provider that takes none.
    public var resource: String?
    public var authorizationServer: AuthorizationServerInfo
    public var clientID: String
    public var clientSecret: String?
    /// How the secret goes to the token endpoint (`nil`: in the form body).
    public var clientSecretMethod: ClientSecretMethod?
    public var redirectURI: String
    public var scopes: [String]
    /// RFC 6749 §10.12: the answer must carry it back.
    public var state: String
    /// RFC 7636 §4.1; sent only to the token endpoint.
    var codeVerifier: String
    /// Where to send the person's browser.
    public var authorizationURL: String

    /// A new sign-in of client `clientID` at `server`, answered at `redirectURI`; `state` is
    /// random unless the caller already chose one. `extraParameters` go into the authorization
    /// request besides the protocol's own (a provider's `access_type=offline`).
    public init(
        serverURL: String, resource: String?, server: AuthorizationServerInfo, clientID: String, clientSecret: String?,
        redirectURI: String, scopes: [String], state: String? = nil, extraParameters: [String: String] = [:],
        clientSecretMethod: ClientSecretMethod? = nil
    ) {
        let pkce = PKCEPair()
        self.serverURL = serverURL
        self.resource = resource
        self.authorizationServer = server
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.clientSecretMethod = clientSecretMethod
        self.redirectURI = redirectURI
        self.scopes = scopes
        self.state = state ?? PKCEPair.state()
        self.codeVerifier = pkce.verifier
        // MCP authorization (2025-11-25, "Authorization Code Protection"): PKCE with S256 MUST be
        // used; "Resource Parameter Implementation": `resource` MUST be sent.
        var query = [
            ("response_type", "code"), ("client_id", clientID), ("redirect_uri", redirectURI),
            ("code_challenge", pkce.challenge), ("code_challenge_method", "S256"), ("state", self.state),
        ]
        if let resource { query.append(("resource", resource)) }
        if !scopes.isEmpty { query.append(("scope", scopes.joined(separator: " "))) }
        query += extraParameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let separator = server.authorizationEndpoint.contains("?") ? "&" : "?"
        self.authorizationURL = server.authorizationEndpoint + separator + URLEncoding.query(query)
    }

    /// The code in the authorization response `parameters` (the redirect URI's query), after
    /// checking that the response is the answer to this sign-in from this server.
    public func code(from parameters: [String: String]) throws(ClientError) -> String {
        // RFC 6749 §10.12: the state must be the one this client sent.
        guard parameters["state"] == state else {
            throw ClientError("the authorization response carries the wrong state: it is not the answer to this sign-in (possible CSRF); sign in again")
        }
        // RFC 9207 §2.4: iss, when present or promised, must be the expected issuer (unknown for
        // a server known only by its endpoints).
        let issuer = authorizationServer.issuer
        if let iss = parameters["iss"], !issuer.isEmpty, iss != issuer {
            throw ClientError("the authorization response came from \(iss), not \(issuer) (RFC 9207); refusing a possible mix-up")
        }
        if parameters["iss"] == nil, authorizationServer.sendsIssuerInResponse {
            throw ClientError("the authorization response lacks iss although \(issuer) promises it (RFC 9207)")
        }
        if let error = parameters["error"] {
            throw ClientError("the authorization server refused the sign-in: \(error)\(parameters["error_description"].map { ": \($0)" } ?? "")")
        }
        guard let code = parameters["code"] else { throw ClientError("the authorization response has no code") }
        return code
    }

    /// What the token endpoint made of the code.
    public enum Redemption: Sendable, Equatable {
        case signedIn(StoredLogin)
        /// `invalid_client`: the authorization server no longer knows this client.
        case clientRejected
    }

    /// Exchanges `code` for tokens at the token endpoint, with the verifier and the resource.
    public func redeem(_ code: String, http: EgressClient) async throws(ClientError) -> Redemption {
        let login = StoredLogin(
            serverURL: serverURL, resource: resource, authorizationServer: authorizationServer, clientID: clientID,
            clientSecret: clientSecret, redirectURI: redirectURI, accessToken: nil, refreshToken: nil, expiresAt: nil, scopes: scopes,
            askedScopes: scopes, clientSecretMethod: clientSecretMethod)
        let form = [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", codeVerifier),
        ] + (resource.map { [("resource", $0)] } ?? [])
        let (credentials, headers) = OAuthSession.credentials(login)
        let response = try await http.exchangeForm(authorizationServer.tokenEndpoint, form + credentials, headers: headers)
        if response.status != 200, OAuthSession.oauthError(response) == "invalid_client" { return .clientRejected }
        guard response.status == 200 else {
            throw ClientError(
                "the token endpoint refused the code: \(OAuthSession.oauthError(response) ?? "HTTP \(response.status)") \(OAuthSession.oauthDescription(response))"
            )
        }
        return .signedIn(try OAuthSession.applyTokens(response, to: login))
    }
}
