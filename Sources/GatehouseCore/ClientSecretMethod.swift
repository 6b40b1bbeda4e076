import Foundation

/// How a confidential client presents its secret at a token endpoint (RFC 6749 §2.3.1; the names
/// are RFC 7591's `token_endpoint_auth_method` values).
public enum ClientSecretMethod: String, Sendable, Codable {
    /// HTTP Basic: every authorization server must accept it.
    case basic = "client_secret_basic"
    /// In the form body (GitHub's documented way).
    case post = "client_secret_post"

    /// What a token request carries to authenticate `clientID` with `secret`: form fields and
    /// headers.
    public func credentials(clientID: String, secret: String) -> (form: [(String, String)], headers: [(String, String)]) {
        switch self {
        case .post:
            return ([("client_id", clientID), ("client_secret", secret)], [])
        case .basic:
            // RFC 6749 §2.3.1: the id and secret are form-encoded before Base64.
            let pair = URLEncoding.form(clientID) + ":" + URLEncoding.form(secret)
            return ([], [("Authorization", "Basic " + Data(pair.utf8).base64EncodedString())])
        }
    }
}
