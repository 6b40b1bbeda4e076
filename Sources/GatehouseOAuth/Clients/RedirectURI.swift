import Foundation
import GatehouseCore

/// A client's redirect URI, parsed once, with the registration and matching rules.
public struct RedirectURI: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    let scheme: String
    let host: String
    let port: Int?
    let pathAndQuery: String

    /// Parses and checks a redirect URI offered at registration.
    ///
    /// RFC 6749 §3.1.2: absolute, no fragment. OAuth 2.1 / RFC 9700 §2.1: https, except
    /// `http` on a loopback host for native apps (RFC 8252 §7.3); private-use schemes such as
    /// `com.example.app:/callback` are allowed for native apps (RFC 8252 §7.1).
    public init(registering text: String) throws(OAuthError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), text.count <= 2048
        else { throw OAuthError(.invalidRedirectURI, "\(text.prefix(80)) is not an absolute URI") }
        guard components.fragment == nil else {
            throw OAuthError(.invalidRedirectURI, "redirect URIs must not contain a fragment (RFC 6749 §3.1.2)")
        }
        guard components.user == nil, components.password == nil else {
            throw OAuthError(.invalidRedirectURI, "redirect URIs must not contain credentials")
        }
        let host = components.host?.lowercased() ?? ""
        switch scheme {
        case "https":
            guard !host.isEmpty else { throw OAuthError(.invalidRedirectURI, "\(text.prefix(80)) has no host") }
        case "http":
            guard HostName.isLoopback(host) else {
                throw OAuthError(
                    .invalidRedirectURI, "http redirect URIs are allowed only on loopback (127.0.0.1, [::1], localhost); use https")
            }
        case "javascript", "data", "file", "vbscript":
            throw OAuthError(.invalidRedirectURI, "\(scheme): redirect URIs are not allowed")
        default:
            // RFC 8252 §7.1: a private-use scheme is a reverse domain name, e.g. com.example.app.
            guard scheme.contains(".") else {
                throw OAuthError(.invalidRedirectURI, "private-use URI schemes must be reverse domain names such as com.example.app")
            }
        }
        self.text = text
        self.scheme = scheme
        self.host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        self.port = components.port
        self.pathAndQuery = components.percentEncodedPath + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
    }

    /// True when a redirect URI sent at authorization time matches this registered one.
    ///
    /// RFC 6749 §3.1.2.3 and RFC 9700 §4.1.3: exact string comparison; RFC 8252 §7.3: for
    /// loopback `http` redirects the port may differ (clients pick an ephemeral port), while
    /// scheme, host and path must still match exactly (so `localhost` never matches `127.0.0.1`).
    public func matches(_ requested: String) -> Bool {
        if requested == text { return true }
        guard scheme == "http", HostName.isLoopback(host), let other = try? RedirectURI(registering: requested) else {
            return false
        }
        return other.scheme == "http" && other.host == host && other.pathAndQuery == pathAndQuery
    }

    public var description: String { text }
}
