import Foundation
import GatehouseCore

/// A validated authorization request (RFC 6749 §4.1.1 with PKCE and RFC 8707), waiting for
/// the user's decision.
public struct AuthorizationRequest: Sendable, Equatable {
    public var client: OAuthClient
    /// The redirect URI the response goes to: exactly as the client sent it, or the client's
    /// only registered one when it sent none.
    public var redirectURI: String
    /// True when the request carried `redirect_uri`; then the token request must repeat it.
    public var redirectURIWasSent: Bool
    public var state: String?
    public var codeChallenge: String
    /// The scopes that will be granted: the requested ones the server knows.
    public var scopes: [String]
    public var resource: String

    /// The host the user will be sent back to, shown on the consent page.
    public var redirectHost: String {
        URLComponents(string: redirectURI).flatMap { $0.host ?? $0.scheme } ?? redirectURI
    }
}

/// The outcome of checking an authorization request.
public enum AuthorizationCheck: Sendable, Equatable {
    /// Ask the user (or approve it, with auto-approval).
    case valid(AuthorizationRequest)
    /// The request is wrong but the redirect URI is trusted: send the user back with the error.
    case redirect(String)
    /// The client or redirect URI cannot be trusted: RFC 6749 §4.1.2.1 says the server MUST
    /// NOT redirect; it tells the user instead.
    case refused(OAuthError)
}

/// Builds the redirects that end an authorization request.
enum AuthorizationResponse {
    /// `redirectURI` with `parameters` added to its query, then `state` and `iss`.
    ///
    /// RFC 9207 §2: the `iss` parameter is in every authorization response, success or error,
    /// so a client can tell which server answered (mix-up attacks).
    static func redirect(_ redirectURI: String, _ parameters: [(String, String)], state: String?, issuer: String) -> String {
        var components = URLComponents(string: redirectURI) ?? URLComponents()
        var items = components.queryItems ?? []
        items += parameters.map { URLQueryItem(name: $0.0, value: $0.1) }
        if let state { items.append(URLQueryItem(name: "state", value: state)) }
        items.append(URLQueryItem(name: "iss", value: issuer))
        components.percentEncodedQuery = URLEncoding.query(items.map { ($0.name, $0.value ?? "") })
        return components.string ?? redirectURI
    }

    static func error(_ error: OAuthError, to redirectURI: String, state: String?, issuer: String) -> String {
        redirect(redirectURI, [("error", error.code.rawValue), ("error_description", error.description)], state: state, issuer: issuer)
    }
}
