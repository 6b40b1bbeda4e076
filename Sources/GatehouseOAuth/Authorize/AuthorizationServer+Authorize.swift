import Foundation
import GatehouseCore

extension AuthorizationServer {
    /// Checks the parameters of `/authorize`.
    public func checkAuthorization(_ parameters: FormParameters) async -> AuthorizationCheck {
        let client: OAuthClient
        let redirectURI: String
        let redirectURIWasSent: Bool
        do {
            client = try await clients.client(try parameters.required("client_id"))
            let requested = try parameters.value("redirect_uri")
            redirectURI = try Self.redirectURI(for: client, requested: requested)
            redirectURIWasSent = requested != nil
        } catch {
            return .refused(error)
        }
        let state: String?
        do {
            state = try parameters.value("state")
        } catch {
            return .redirect(AuthorizationResponse.error(error, to: redirectURI, state: nil, issuer: settings.issuer))
        }
        do throws(OAuthError) {
            guard try parameters.value("response_type") == "code" else {
                throw OAuthError(.unsupportedResponseType, "response_type must be code")
            }
            // MCP authorization §"Authorization Code Protection": PKCE is required, S256 only.
            let challenge = try PKCE.validateChallenge(
                try parameters.value("code_challenge"), method: try parameters.value("code_challenge_method"))
            // RFC 8707 §2: an unknown or unacceptable resource is `invalid_target`.
            guard let resource = settings.canonicalResource(try parameters.value("resource")) else {
                throw OAuthError(.invalidTarget, "tokens cannot be issued for that resource; use \(settings.resources.first ?? "")")
            }
            let request = AuthorizationRequest(
                client: client, redirectURI: redirectURI, redirectURIWasSent: redirectURIWasSent, state: state,
                codeChallenge: challenge,
                scopes: grantedScopes(requested: try parameters.value("scope"), client: client), resource: resource)
            return .valid(request)
        } catch {
            return .redirect(AuthorizationResponse.error(error, to: redirectURI, state: state, issuer: settings.issuer))
        }
    }

    /// Issues a code for the approved `request` and returns the redirect that delivers it.
    ///
    /// - Parameter loginSessionID: the upstream login the person signed in with, if any.
    public func approve(_ request: AuthorizationRequest, user: LocalUser, loginSessionID: String? = nil) async throws -> String {
        let code = SecretToken.generate(prefix: "ghcode_")
        let grant = AuthorizationGrant(
            clientID: request.client.id, subject: user.id, scopes: request.scopes, resource: request.resource, authTime: now(),
            loginSessionID: loginSessionID)
        try await store.insertCode(
            AuthorizationCodeRecord(
                hash: SecretToken.hash(code), grant: grant, redirectURI: request.redirectURIWasSent ? request.redirectURI : nil,
                codeChallenge: request.codeChallenge,
                expiresAt: now().addingTimeInterval(settings.codeLifetime)))
        if !request.client.isMetadataDocument { try await store.recordClientUse(id: request.client.id, now: now()) }
        AuditLog.record(
            .consentGranted,
            [
                "sub": .string(user.id), "email": .string(user.email), "client_id": .string(request.client.id),
                "scopes": .string(request.scopes.joined(separator: " ")), "resource": .string(request.resource),
                "redirect_uri": .string(request.redirectURI),
            ])
        return AuthorizationResponse.redirect(request.redirectURI, [("code", code)], state: request.state, issuer: settings.issuer)
    }

    /// The redirect that tells the client the user said no (RFC 6749 §4.1.2.1 `access_denied`).
    public func deny(_ request: AuthorizationRequest) -> String {
        AuditLog.record(
            .consentDenied,
            [
                "client_id": .string(request.client.id), "scopes": .string(request.scopes.joined(separator: " ")),
                "resource": .string(request.resource),
            ])
        return errorRedirect(OAuthError(.accessDenied, "the user denied the request"), for: request)
    }

    /// The redirect that ends `request` with `error` (RFC 6749 §4.1.2.1).
    public func errorRedirect(_ error: OAuthError, for request: AuthorizationRequest) -> String {
        AuthorizationResponse.error(error, to: request.redirectURI, state: request.state, issuer: settings.issuer)
    }

    /// RFC 6749 §3.1.2.3 and OAuth 2.1 §4.1.1: the redirect URI must match a registered one
    /// exactly (loopback ports excepted, RFC 8252 §7.3); it may be left out only when the
    /// client registered exactly one.
    private static func redirectURI(for client: OAuthClient, requested: String?) throws(OAuthError) -> String {
        guard let requested else {
            guard client.metadata.redirectURIs.count == 1 else {
                throw OAuthError(.invalidRequest, "redirect_uri is required: the client registered several")
            }
            return client.metadata.redirectURIs[0].text
        }
        guard client.metadata.redirectURI(matching: requested) != nil else {
            throw OAuthError(.invalidRequest, "redirect_uri does not match any redirect URI registered for this client")
        }
        return requested
    }

    /// RFC 6749 §3.3: the server may grant fewer scopes than requested. Unknown scopes are
    /// dropped rather than refused, because clients often ask for `openid`, `offline_access`
    /// and the like; the token response states what was granted. Nothing requested means
    /// the client's registered scopes, else every supported scope.
    func grantedScopes(requested: String?, client: OAuthClient) -> [String] {
        let supported = Set(settings.scopesSupported)
        guard let requested else {
            let registered = client.metadata.scope.filter(supported.contains)
            return registered.isEmpty ? settings.scopesSupported : registered
        }
        var seen = Set<String>()
        return requested.split(separator: " ").map(String.init).filter { supported.contains($0) && seen.insert($0).inserted }
    }
}
