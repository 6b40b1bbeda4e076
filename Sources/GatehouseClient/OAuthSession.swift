import Foundation
import GatehouseCore
import GatehouseEgress

/// Signs in to OAuth-protected MCP servers and keeps their tokens fresh.
///
/// Login follows the MCP authorization specification: protected-resource metadata, the
/// authorization server's metadata, a client id (pre-registered, a Client ID Metadata Document,
/// or Dynamic Client Registration), then the authorization code flow with PKCE S256 through a
/// loopback callback, with `state`, RFC 9207 `iss` and the RFC 8707 `resource` checked and sent.
public struct OAuthSession: Sendable {
    let http: EgressClient
    public let cache: TokenCache
    let options: LoginOptions
    let progress: Progress

    public init(cache: TokenCache, options: LoginOptions = LoginOptions(), http: EgressClient = EgressClient.clientDefault, progress: @escaping Progress) {
        self.cache = cache
        self.options = options
        self.http = http
        self.progress = progress
    }

    /// A usable access token for `serverURL` from the cache, refreshed when it is about to
    /// expire; `nil` when there is none and a login is needed.
    public func cachedAccessToken(for serverURL: String) async throws(ClientError) -> String? {
        guard let stored = try cache.login(for: serverURL) else { return nil }
        if !stored.accessTokenIsStale() { return stored.accessToken }
        return try await refresh(stored)?.accessToken
    }

    /// Exchanges the stored refresh token for new tokens; `nil` (and the tokens forgotten) when
    /// the server refuses it, so the caller signs in again. A server error keeps the tokens.
    public func refresh(_ stored: StoredLogin) async throws(ClientError) -> StoredLogin? {
        guard stored.refreshToken != nil else { return nil }
        progress("refreshing the access token")
        switch try await stored.refreshed(http: http) {
        case .refreshed(let refreshed):
            try cache.save(refreshed)
            return refreshed
        case .unavailable(let reason):
            throw ClientError("the token endpoint could not refresh the access token (\(reason)); try again later")
        case .refused(let error):
            var forgotten = stored
            forgotten.accessToken = nil
            forgotten.refreshToken = nil
            if error == "invalid_client" {
                forgotten.clientID = ""  // the registration is gone: register again at the next login
            }
            try cache.save(forgotten)
            progress("the refresh was refused (\(error)); signing in again is needed")
            return nil
        }
    }

    /// Revokes the stored refresh token at the authorization server (RFC 7009), when it offers
    /// revocation; returns whether it did. Access tokens expire by themselves.
    public func revoke(_ stored: StoredLogin) async throws(ClientError) -> Bool {
        guard let endpoint = stored.authorizationServer.revocationEndpoint, let refreshToken = stored.refreshToken else { return false }
        let form = [("token", refreshToken), ("token_type_hint", "refresh_token")]
        let (credentials, headers) = Self.credentials(stored)
        let response = try await http.exchangeForm(endpoint, form + credentials, headers: headers)
        return response.status == 200
    }

    /// Signs in to `serverURL`: discovery, registration when needed, the browser, the code exchange.
    ///
    /// - Parameters:
    ///   - challenge: the server's 401/403 challenge, when there was one.
    ///   - extraScopes: scopes to add to the usual ones (step-up after `insufficient_scope`).
    public func login(
        serverURL: String, challenge: BearerChallengeParameters?, extraScopes: [String] = []
    ) async throws(ClientError) -> StoredLogin {
        let discovered = try await ServerAuthorization.discover(serverURL: serverURL, challenge: challenge, http: http, progress: progress)
        let (resource, server, issuer) = (discovered.resource, discovered.server, discovered.server.issuer)
        var scopes = options.scopes ?? (challenge?.scope ?? [])
        if scopes.isEmpty, options.scopes == nil { scopes = discovered.defaultScopes }
        for scope in extraScopes where !scopes.contains(scope) { scopes.append(scope) }

        let previous = try cache.login(for: serverURL).flatMap { $0.authorizationServer.issuer == issuer && !$0.clientID.isEmpty ? $0 : nil }
        switch try await authorize(serverURL: serverURL, resource: resource.resource, server: server, scopes: scopes, previous: previous) {
        case .signedIn(let login):
            return login
        case .registrationRejected(let clientID):
            // The stored registration is gone (the server forgot it): register again, once.
            progress("the authorization server no longer knows client \(clientID); registering again")
            switch try await authorize(serverURL: serverURL, resource: resource.resource, server: server, scopes: scopes, previous: nil) {
            case .signedIn(let login): return login
            case .registrationRejected: throw ClientError("\(server.issuer) refused a registration it had just made")
            }
        }
    }

    private enum AuthorizeOutcome {
        case signedIn(StoredLogin)
        /// The token endpoint refused a stored client registration.
        case registrationRejected(clientID: String)
    }

    private func authorize(
        serverURL: String, resource: String, server: AuthorizationServerInfo, scopes: [String], previous: StoredLogin?
    ) async throws(ClientError) -> AuthorizeOutcome {
        let state = PKCEPair.state()
        let expectation = LoopbackCallback.Expectation(state: state, issuer: server.issuer)
        let (callback, registration) = try await prepareClient(server: server, previous: previous, expectation: expectation)
        let pending = PendingSignIn(
            serverURL: serverURL, resource: resource, server: server, clientID: registration.clientID, clientSecret: registration.clientSecret,
            redirectURI: callback.redirectURI, scopes: scopes, state: state)
        if let present = options.presentAuthorizationURL {
            present(pending.authorizationURL)
        } else {
            BrowserLauncher.present(pending.authorizationURL, openBrowser: options.openBrowser, progress: progress)
        }
        progress("waiting for the sign-in to finish (up to \(options.timeout.components.seconds) s)")

        let parameters: [String: String]
        do {
            parameters = try await callback.response(timeout: options.timeout)
            await callback.stop()
        } catch {
            await callback.stop()
            throw error
        }
        switch try await pending.redeem(try pending.code(from: parameters), http: http) {
        case .clientRejected where previous != nil && registration.clientID == previous?.clientID && options.clientID == nil:
            return .registrationRejected(clientID: registration.clientID)
        case .clientRejected:
            throw ClientError("the token endpoint refused the code: invalid_client (\(server.issuer) does not know client \(registration.clientID))")
        case .signedIn(var login):
            // Only a registration of our own has a redirect URI whose port the next login reuses.
            login.redirectURI = registration.redirectURI
            try cache.save(login)
            progress("signed in to \(serverURL) via \(server.issuer)")
            return .signedIn(login)
        }
    }

    private struct Registration {
        var clientID: String
        var clientSecret: String?
        var redirectURI: String?
    }

    /// Starts the callback listener and finds the client id, in the specification's order:
    /// pre-registered, Client ID Metadata Document, the stored registration, Dynamic Client
    /// Registration.
    private func prepareClient(
        server: AuthorizationServerInfo, previous: StoredLogin?, expectation: LoopbackCallback.Expectation
    ) async throws(ClientError) -> (LoopbackCallback, Registration) {
        if let clientID = options.clientID {
            let callback = try await LoopbackCallback.start(port: options.callbackPort ?? 0, expecting: expectation)
            return (callback, Registration(clientID: clientID, clientSecret: options.clientSecret, redirectURI: nil))
        }
        if let document = options.clientMetadataURL, server.supportsClientIDMetadataDocuments {
            let callback = try await LoopbackCallback.start(port: options.callbackPort ?? 0, expecting: expectation)
            return (callback, Registration(clientID: document, clientSecret: nil, redirectURI: nil))
        }
        // Reuse the stored registration with the port it was registered with: not every server
        // lets a loopback redirect change its port.
        if let previous, let redirectURI = previous.redirectURI, let port = URLComponents(string: redirectURI)?.port,
            options.callbackPort == nil || options.callbackPort == port,
            let callback = try? await LoopbackCallback.start(port: port, expecting: expectation)
        {
            return (callback, Registration(clientID: previous.clientID, clientSecret: previous.clientSecret, redirectURI: redirectURI))
        }
        guard let endpoint = server.registrationEndpoint else {
            let documents =
                server.supportsClientIDMetadataDocuments
                ? "; it accepts Client ID Metadata Documents: pass --client-metadata-url with your document's https URL"
                : " and does not accept Client ID Metadata Documents"
            throw ClientError("\(server.issuer) offers no Dynamic Client Registration\(documents); or pass a pre-registered --client-id")
        }
        let callback = try await LoopbackCallback.start(port: options.callbackPort ?? 0, expecting: expectation)
        progress("registering with \(server.issuer)")
        do {
            let registration = try await ClientRegistration.register(
                at: endpoint, clientName: "Gatehouse CLI", redirectURI: callback.redirectURI, applicationType: "native", http: http)
            return (callback, Registration(clientID: registration.clientID, clientSecret: registration.clientSecret, redirectURI: callback.redirectURI))
        } catch {
            await callback.stop()
            throw error
        }
    }

    /// The client's credentials for the token endpoint, as form fields and headers: `client_id`,
    /// and the secret when there is one, in the body (`client_secret_post`, which MCP servers
    /// accept) unless the login says HTTP Basic (RFC 6749 §2.3.1).
    static func credentials(_ login: StoredLogin) -> (form: [(String, String)], headers: [(String, String)]) {
        guard let secret = login.clientSecret else { return ([("client_id", login.clientID)], []) }
        return (login.clientSecretMethod ?? .post).credentials(clientID: login.clientID, secret: secret)
    }

    /// `stored` with the tokens of a successful token response (RFC 6749 §5.1).
    static func applyTokens(_ response: EgressClient.Response, to stored: StoredLogin) throws(ClientError) -> StoredLogin {
        guard case .object(let fields)? = try? JSONValue.parse(response.body) else {
            throw ClientError("the token endpoint answered with something other than JSON")
        }
        // GitHub answers a refused code with 200 and an OAuth error body.
        if let error = fields["error"]?.stringValue {
            throw ClientError("the token endpoint refused: \(error) \(fields["error_description"]?.stringValue.map { "(\($0))" } ?? "")")
        }
        guard let accessToken = fields["access_token"]?.stringValue else { throw ClientError("the token endpoint answered without an access_token") }
        guard fields["token_type"]?.stringValue?.lowercased() == "bearer" else {
            throw ClientError("the token endpoint issued a \(fields["token_type"]?.stringValue ?? "untyped") token; only Bearer is supported")
        }
        var updated = stored
        updated.accessToken = accessToken
        // Rotation: a new refresh token replaces the old one; none means the old one stays valid.
        if let refreshToken = fields["refresh_token"]?.stringValue { updated.refreshToken = refreshToken }
        let lifetime: Int? = switch fields["expires_in"] {
        case .int(let seconds)?: seconds
        case .double(let seconds)?: Int(seconds)
        default: nil
        }
        updated.expiresAt = lifetime.map { Date().addingTimeInterval(TimeInterval($0)) }
        // RFC 6749 §3.3 separates scopes with spaces; GitHub answers with commas ("repo,gist").
        if let scope = fields["scope"]?.stringValue { updated.scopes = scope.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init) }
        return updated
    }

    static func oauthError(_ response: EgressClient.Response) -> String? {
        (try? JSONValue.parse(response.body))?.objectValue?["error"]?.stringValue
    }

    static func oauthDescription(_ response: EgressClient.Response) -> String {
        (try? JSONValue.parse(response.body))?.objectValue?["error_description"]?.stringValue.map { "(\($0))" } ?? ""
    }
}
