import Foundation
import GatehouseAuth
import GatehouseCore
import Logging

extension AuthorizationServer {
    /// RFC 7009 token revocation. Revoking a refresh token revokes its whole family. Access
    /// tokens are short-lived JWTs that resource servers check offline; revoking one answers
    /// 200 as §2.2 requires but it stays valid until it expires.
    public func revoke(_ form: FormParameters, authorization: String?) async throws(OAuthError) {
        let client = try await authenticateClient(form, authorization: authorization)
        let token = try form.required("token")
        guard let (_, family) = try await storeCall({ try await store.refreshToken(hash: SecretToken.hash(token)) }) else {
            return  // §2.2: an invalid or unknown token is not an error
        }
        guard family.grant.clientID == client.id else {
            throw OAuthError(.invalidRequest, "the token was not issued to this client (RFC 7009 §2.1)")
        }
        try await storeCall({ try await store.revokeFamily(id: family.id, now: now()) })
        AuditLog.record(
            .tokenRevoked, ["by": "client", "client_id": .string(client.id), "sub": .string(family.grant.subject), "family": .string(family.id)])
    }

    /// RFC 7662 token introspection, for confidential clients (resource servers).
    public func introspect(
        _ form: FormParameters, authorization: String?, verifier: any TokenVerifier
    ) async throws(OAuthError) -> JSONValue {
        let client = try await authenticateClient(form, authorization: authorization)
        guard client.secretHash != nil else {
            throw OAuthError(.invalidClient, "introspection needs a confidential client (RFC 7662 §2.1)")
        }
        let token = try form.required("token")
        if let principal = try? await verifier.verify(token) {
            var body: [String: JSONValue] = ["active": true, "token_type": "Bearer", "sub": .string(principal.subject)]
            for claim in ["iss", "aud", "exp", "iat", "nbf", "client_id", "scope", "jti"] { body[claim] = principal.claims[claim] }
            return .object(body)
        }
        if let (record, family) = try await storeCall({ try await store.refreshToken(hash: SecretToken.hash(token)) }),
            family.revokedAt == nil, record.rotatedAt == nil, record.expiresAt > now()
        {
            var body: [String: JSONValue] = [
                "active": true, "sub": .string(family.grant.subject), "client_id": .string(family.grant.clientID),
                "aud": .string(family.grant.resource), "iss": .string(settings.issuer),
                "exp": .int(Int(record.expiresAt.timeIntervalSince1970)),
            ]
            if !family.grant.scopes.isEmpty { body["scope"] = .string(family.grant.scopes.joined(separator: " ")) }
            return .object(body)
        }
        return ["active": false]
    }
}
