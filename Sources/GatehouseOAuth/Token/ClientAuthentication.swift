import Foundation
import GatehouseCore

extension AuthorizationServer {
    /// Authenticates the client of a token, revocation or introspection request.
    ///
    /// RFC 6749 §2.3: confidential clients authenticate with HTTP Basic or `client_secret`
    /// in the body, and "MUST NOT use more than one authentication method in each request";
    /// public clients only name themselves with `client_id`. A failure is `invalid_client`.
    func authenticateClient(_ form: FormParameters, authorization: String?) async throws(OAuthError) -> OAuthClient {
        let basic = try Self.basicCredentials(authorization)
        let bodySecret = try form.value("client_secret")
        if basic != nil, bodySecret != nil {
            throw OAuthError(.invalidRequest, "use either HTTP Basic or client_secret in the body, not both")
        }
        let bodyID = try form.value("client_id")
        if let basic, let bodyID, bodyID != basic.id {
            throw OAuthError(.invalidClient, "client_id in the body differs from the HTTP Basic client")
        }
        guard let clientID = basic?.id ?? bodyID else {
            throw OAuthError(.invalidClient, "client authentication is required: send client_id (and the secret if you have one)")
        }
        let client = try await clients.client(clientID)
        let secret = basic?.secret ?? bodySecret
        switch (client.secretHash, secret) {
        case (nil, nil): return client
        case (nil, _?): throw OAuthError(.invalidClient, "this client is public and has no secret; send only client_id")
        case (_?, nil): throw OAuthError(.invalidClient, "this client must authenticate with its client_secret")
        case (let expected?, let presented?):
            guard SecretToken.hash(presented) == expected else { throw OAuthError(.invalidClient, "the client secret is wrong") }
            return client
        }
    }

    /// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
    private static func basicCredentials(_ header: String?) throws(OAuthError) -> (id: String, secret: String)? {
        guard let header else { return nil }
        guard header.count > 6, header.prefix(6).lowercased() == "basic " else {
            throw OAuthError(.invalidClient, "only HTTP Basic client authentication is supported in the Authorization header")
        }
        guard let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":"),
            let id = text[..<colon].replacingOccurrences(of: "+", with: " ").removingPercentEncoding,
            let secret = text[text.index(after: colon)...].replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        else { throw OAuthError(.invalidClient, "the HTTP Basic credentials cannot be decoded") }
        return (id, secret)
    }
}
