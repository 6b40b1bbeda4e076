import Foundation
import GatehouseCore

extension AuthorizationServer {
    /// Handles a token request (RFC 6749 §4.1.3 and §6) and returns the token response body.
    ///
    /// Errors are ``OAuthError``s: `invalid_client` (HTTP 401) or another code (HTTP 400).
    public func token(_ form: FormParameters, authorization: String?) async throws(OAuthError) -> JSONValue {
        let grantType = switch (try? form.value("grant_type")) ?? nil {
        case "authorization_code"?: "authorization_code"
        case "refresh_token"?: "refresh_token"
        default: "other"
        }
        do {
            let body = try await grant(form, authorization: authorization)
            GatehouseMetrics.tokenRequest(grantType: grantType, outcome: "issued")
            return body
        } catch {
            GatehouseMetrics.tokenRequest(grantType: grantType, outcome: error.code.rawValue)
            throw error
        }
    }

    private func grant(_ form: FormParameters, authorization: String?) async throws(OAuthError) -> JSONValue {
        let client = try await authenticateClient(form, authorization: authorization)
        switch try form.value("grant_type") {
        case "authorization_code"?: return try await redeemCode(form, client: client)
        case "refresh_token"?: return try await refresh(form, client: client)
        case nil: throw OAuthError(.invalidRequest, "the grant_type parameter is required")
        case let other?:
            throw OAuthError(.unsupportedGrantType, "grant_type \(other.prefix(40)) is not supported; use authorization_code or refresh_token")
        }
    }

    private func redeemCode(_ form: FormParameters, client: OAuthClient) async throws(OAuthError) -> JSONValue {
        let code = try form.required("code")
        let verifier = try form.required("code_verifier")
        let familyID = SecretToken.generate(prefix: "fam_")
        let record: AuthorizationCodeRecord
        switch try await storeCall({ try await store.presentCode(hash: SecretToken.hash(code), to: CodeUse(familyID: familyID, now: now())) }) {
        case .redeem(let redeemed): record = redeemed
        case .replayed(let family):
            // RFC 6749 §4.1.2: a code used twice revokes the tokens issued from it.
            logger.warning(
                "authorization code presented again; the tokens issued from it are revoked",
                metadata: ["event": "authorization_code_replayed", "client_id": "\(client.id)", "family": "\(family ?? "-")"])
            AuditLog.record(.tokenReused, ["credential": "authorization_code", "client_id": .string(client.id), "family": .audit(family)])
            if let family { try await storeCall({ try await store.revokeFamily(id: family, now: now()) }) }
            throw OAuthError(.invalidGrant, "the authorization code was already used; tokens issued from it are revoked")
        case .expired: throw OAuthError(.invalidGrant, "the authorization code has expired; start the authorization again")
        case .unknown: throw OAuthError(.invalidGrant, "the authorization code is not valid")
        }
        // The code is spent from here on: a wrong verifier cannot be retried.
        guard record.grant.clientID == client.id else {
            throw OAuthError(.invalidGrant, "the authorization code was issued to another client")
        }
        // RFC 6749 §4.1.3: redirect_uri is required, and identical, when the authorization
        // request included it.
        let sentRedirectURI = try form.value("redirect_uri")
        if let expected = record.redirectURI {
            guard sentRedirectURI == expected else {
                throw OAuthError(.invalidGrant, "redirect_uri differs from the one used in the authorization request")
            }
        } else if let sentRedirectURI, client.metadata.redirectURI(matching: sentRedirectURI) == nil {
            throw OAuthError(.invalidGrant, "redirect_uri is not registered for this client")
        }
        // RFC 7636 §4.6.
        guard PKCE.verify(verifier, against: record.codeChallenge) else {
            throw OAuthError(.invalidGrant, "code_verifier does not match the code_challenge")
        }
        try checkResource(form, bound: record.grant.resource)
        var body = try await accessToken(for: record.grant, scopes: record.grant.scopes)
        if client.metadata.usesRefreshTokens {
            let refreshToken = SecretToken.generate(prefix: "ghr_")
            let issuedAt = now()
            let expiresAt = issuedAt.addingTimeInterval(settings.refreshTokenLifetime)
            try await storeCall({
                try await store.createFamily(
                    RefreshFamily(id: familyID, grant: record.grant, createdAt: issuedAt, expiresAt: expiresAt),
                    firstToken: RefreshTokenRecord(
                        hash: SecretToken.hash(refreshToken), familyID: familyID, issuedAt: issuedAt, expiresAt: expiresAt))
            })
            body["refresh_token"] = .string(refreshToken)
        }
        Self.audit(.tokenIssued, record.grant, client: client, family: client.metadata.usesRefreshTokens ? familyID : nil)
        return .object(body)
    }

    /// Audits tokens issued or refreshed for `grant`; the tokens themselves are never recorded.
    private static func audit(_ name: AuditEventName, _ grant: AuthorizationGrant, client: OAuthClient, family: String?) {
        AuditLog.record(
            name,
            [
                "sub": .string(grant.subject), "client_id": .string(client.id), "scopes": .string(grant.scopes.joined(separator: " ")),
                "resource": .string(grant.resource), "family": .audit(family),
            ])
    }

    private func refresh(_ form: FormParameters, client: OAuthClient) async throws(OAuthError) -> JSONValue {
        guard client.metadata.usesRefreshTokens else {
            throw OAuthError(.unauthorizedClient, "this client did not register the refresh_token grant type")
        }
        let presented = try form.required("refresh_token")
        // Check what the request asks for before rotating: a refused request must leave the
        // refresh token usable (rotation happens when a successor is issued, OAuth 2.1 §4.3.1).
        let scopes = try await refreshScopes(form, presented: presented)
        let successor = SecretToken.generate(prefix: "ghr_")
        let issuedAt = now()
        let rotation = RefreshRotation(
            clientID: client.id,
            successor: RefreshTokenRecord(
                hash: SecretToken.hash(successor), familyID: "", issuedAt: issuedAt,
                expiresAt: issuedAt.addingTimeInterval(settings.refreshTokenLifetime)),
            sealedSuccessor: try await storeCall({ try secrets.seal(Data(successor.utf8), what: "a refresh token") }),
            grace: settings.refreshReuseGrace, clock: now)
        let decision = try await storeCall({ try await store.presentRefreshToken(hash: SecretToken.hash(presented), to: rotation) })
        let family: RefreshFamily
        let refreshToken: String
        switch decision {
        case .rotate(_, _, let rotated):
            (family, refreshToken) = (rotated, successor)
            try await recheckUpstreamLogin(rotated)
        case .resend(let sealed, let rotated):
            let opened = try await storeCall({ try secrets.openIfSealed(sealed, what: "a refresh token").plain })
            (family, refreshToken) = (rotated, String(decoding: opened, as: UTF8.self))
        case .revokeFamily(let revoked):
            logger.warning(
                "refresh token reused after rotation; every token of the login is revoked",
                metadata: ["event": "refresh_token_reused", "client_id": "\(client.id)", "sub": "\(revoked.grant.subject)", "family": "\(revoked.id)"])
            AuditLog.record(
                .tokenReused,
                [
                    "credential": "refresh_token", "client_id": .string(client.id), "sub": .string(revoked.grant.subject),
                    "family": .string(revoked.id),
                ])
            throw OAuthError(.invalidGrant, "the refresh token was already used; every token of this login is now revoked, sign in again")
        case .refuse(.alreadyExchanged):
            throw OAuthError(.invalidGrant, "the refresh token was already exchanged and its successor used; use the newest refresh token")
        case .refuse(.revoked): throw OAuthError(.invalidGrant, "the refresh token was revoked; sign in again")
        case .refuse(.expired): throw OAuthError(.invalidGrant, "the refresh token has expired; sign in again")
        case .refuse(.wrongClient): throw OAuthError(.invalidGrant, "the refresh token was issued to another client")
        case .refuse(.unknown): throw OAuthError(.invalidGrant, "the refresh token is not valid")
        }
        var body = try await accessToken(for: family.grant, scopes: scopes ?? family.grant.scopes)
        body["refresh_token"] = .string(refreshToken)
        Self.audit(.tokenRefreshed, family.grant, client: client, family: family.id)
        return .object(body)
    }

    /// Asks the upstream provider whether the login behind `family` still stands; when the
    /// provider says no, the family is revoked. Only the refresh that rotated asks, so concurrent
    /// refreshes of one token cause one upstream call.
    private func recheckUpstreamLogin(_ family: RefreshFamily) async throws(OAuthError) {
        guard let loginCheck, let sessionID = family.grant.loginSessionID else { return }
        switch await loginCheck.recheck(sessionID: sessionID) {
        case .signedIn: return
        case .unreachable(let reason):
            logger.warning(
                "the upstream provider cannot be asked whether a login still stands; the refresh goes on",
                metadata: ["event": "upstream_recheck_unreachable", "family": "\(family.id)", "reason": "\(reason)"])
        case .signedOut(let reason):
            logger.notice(
                "the upstream provider ended a login; its tokens are revoked",
                metadata: ["event": "upstream_login_ended", "sub": "\(family.grant.subject)", "family": "\(family.id)", "reason": "\(reason)"])
            try await storeCall({ try await store.revokeFamily(id: family.id, now: now()) })
            AuditLog.record(.tokenRevoked, ["by": "upstream_provider", "sub": .string(family.grant.subject), "family": .string(family.id)])
            throw OAuthError(.invalidGrant, "the sign-in at the identity provider has ended (\(reason)); sign in again")
        }
    }

    /// The scopes a refresh asks for (`nil`: all granted ones), after checking them and the
    /// resource against the grant. An unknown token passes here; the rotation refuses it.
    private func refreshScopes(_ form: FormParameters, presented: String) async throws(OAuthError) -> [String]? {
        guard let (_, family) = try await storeCall({ try await store.refreshToken(hash: SecretToken.hash(presented)) }) else {
            return nil
        }
        try checkResource(form, bound: family.grant.resource)
        guard let requested = try form.value("scope") else { return nil }
        // RFC 6749 §6: a refresh may narrow the scope, never widen it.
        let asked = requested.split(separator: " ").map(String.init)
        guard Set(asked).isSubset(of: Set(family.grant.scopes)) else {
            throw OAuthError(.invalidScope, "a refresh cannot add scopes the user did not grant")
        }
        return asked
    }

    /// RFC 8707 §2.2: a `resource` at the token endpoint must be one the grant covers.
    private func checkResource(_ form: FormParameters, bound: String) throws(OAuthError) {
        guard let requested = try form.value("resource") else { return }
        guard settings.canonicalResource(requested) == bound else {
            throw OAuthError(.invalidTarget, "the grant is for \(bound), not for the requested resource")
        }
    }

    private func accessToken(for grant: AuthorizationGrant, scopes: [String]) async throws(OAuthError) -> [String: JSONValue] {
        let (token, expiresIn) = try await storeCall({ try await minter.mint(grant, scopes: scopes) })
        var body: [String: JSONValue] = ["access_token": .string(token), "token_type": "Bearer", "expires_in": .int(expiresIn)]
        if !scopes.isEmpty { body["scope"] = .string(scopes.joined(separator: " ")) }
        return body
    }

    /// Runs a store operation; a failing store (a database outage) is `temporarily_unavailable`,
    /// answered 503 with `Retry-After`, never a crash or a hang.
    func storeCall<T: Sendable>(_ operation: () async throws -> T) async throws(OAuthError) -> T {
        do {
            return try await operation()
        } catch {
            logger.error("the authorization server cannot reach its store", metadata: ["error": "\(String(reflecting: error))"])
            throw OAuthError(.temporarilyUnavailable, "the authorization server cannot reach its store; try again in a few seconds")
        }
    }
}
