import Foundation
import GatehouseCore

/// Rules for Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document;
/// MCP authorization 2025-11-25 "Client ID Metadata Documents").
package enum ClientIDMetadataDocument {
    /// True when `clientID` is meant as a metadata document URL rather than a registered id.
    static func looksLikeURL(_ clientID: String) -> Bool {
        clientID.hasPrefix("https://") || clientID.hasPrefix("http://")
    }

    /// Checks the form of a client id URL (CIMD §3): https, a path, no fragment, no
    /// credentials, no dot segments. `allowLoopbackHTTP` admits `http://127.0.0.1/…` for tests.
    package static func validateURL(_ clientID: String, allowLoopbackHTTP: Bool) throws(OAuthError) -> URLComponents {
        guard let url = URLComponents(string: clientID), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else { throw OAuthError(.invalidClient, "client_id \(clientID.prefix(80)) is not a valid URL") }
        guard scheme == "https" || (allowLoopbackHTTP && scheme == "http" && HostName.isLoopback(host)) else {
            throw OAuthError(.invalidClient, "a client_id URL must use https (Client ID Metadata Documents §3)")
        }
        let path = url.percentEncodedPath
        guard !path.isEmpty, path != "/" else {
            throw OAuthError(.invalidClient, "a client_id URL must contain a path (Client ID Metadata Documents §3)")
        }
        guard url.fragment == nil, url.user == nil, url.password == nil else {
            throw OAuthError(.invalidClient, "a client_id URL must not contain a fragment or credentials")
        }
        guard !path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) else {
            throw OAuthError(.invalidClient, "a client_id URL must not contain . or .. path segments")
        }
        return url
    }

    /// Validates a fetched document for `clientID`.
    ///
    /// §4.1: `client_id` MUST equal the URL exactly; redirect URIs are required; a metadata
    /// document client is public, so shared-secret authentication methods MUST NOT be used.
    package static func metadata(from document: JSONValue, clientID: String) throws(OAuthError) -> ClientMetadata {
        guard case .object(let fields) = document else {
            throw OAuthError(.invalidClient, "the client metadata document at \(clientID) is not a JSON object")
        }
        guard fields["client_id"]?.stringValue == clientID else {
            throw OAuthError(
                .invalidClient, "the client metadata document's client_id does not equal the URL it was fetched from")
        }
        if case .string(let method)? = fields["token_endpoint_auth_method"], method != "none" {
            throw OAuthError(
                .invalidClient,
                "the client metadata document asks for \(method.prefix(40)); only public clients (token_endpoint_auth_method none) are supported")
        }
        if fields["client_secret"] != nil || fields["client_secret_expires_at"] != nil {
            throw OAuthError(.invalidClient, "a client metadata document must not contain a client secret")
        }
        do {
            return try ClientMetadata(registration: document, defaultAuthMethod: .none)
        } catch {
            throw OAuthError(.invalidClient, "the client metadata document is invalid: \(error.description)")
        }
    }
}
