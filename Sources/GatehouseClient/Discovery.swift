import Foundation
import GatehouseCore
import GatehouseEgress

/// What the protected resource says about itself (RFC 9728).
public struct ProtectedResourceInfo: Sendable, Equatable {
    public var resource: String
    public var authorizationServers: [String]
    public var scopesSupported: [String]
}

/// What the client needs from the authorization server's metadata (RFC 8414).
public struct AuthorizationServerInfo: Sendable, Equatable, Codable {
    public var issuer: String
    public var authorizationEndpoint: String
    public var tokenEndpoint: String
    public var registrationEndpoint: String?
    /// RFC 7009 revocation, used by `gatehouse logout`.
    public var revocationEndpoint: String?
    public var scopesSupported: [String]
    public var supportsClientIDMetadataDocuments: Bool
    /// RFC 9207: the server sends `iss` in authorization responses.
    public var sendsIssuerInResponse: Bool

    /// A server known by its endpoints rather than from metadata (a plain OAuth 2.0 provider, as
    /// GitHub is). Its `issuer` is empty: an authorization response's `iss` cannot be checked.
    public static func endpoints(authorize: String, token: String) -> AuthorizationServerInfo {
        AuthorizationServerInfo(
            issuer: "", authorizationEndpoint: authorize, tokenEndpoint: token, registrationEndpoint: nil, revocationEndpoint: nil,
            scopesSupported: [], supportsClientIDMetadataDocuments: false, sendsIssuerInResponse: false)
    }
}

/// Authorization discovery in the order the MCP authorization specification (2025-11-25,
/// 2026-07-28, "Authorization Server Discovery") gives it.
enum Discovery {
    /// The protected-resource metadata of `serverURL`: from the challenge's `resource_metadata`,
    /// else the path-aware well-known URL, then the root one (RFC 9728 §3.1). A 4xx moves on to
    /// the next candidate.
    static func protectedResource(
        serverURL: String, challenge: BearerChallengeParameters?, http: EgressClient, progress: Progress
    ) async throws(ClientError) -> ProtectedResourceInfo {
        guard let server = URLComponents(string: serverURL), let origin = Self.origin(server) else {
            throw ClientError("\(serverURL) is not an http(s) URL")
        }
        var candidates: [String] = []
        if let fromChallenge = challenge?.resourceMetadata { candidates.append(fromChallenge) }
        let path = server.percentEncodedPath
        if !path.isEmpty, path != "/" { candidates.append(origin + "/.well-known/oauth-protected-resource" + path) }
        candidates.append(origin + "/.well-known/oauth-protected-resource")
        var tried: [String] = []
        for candidate in candidates where !tried.contains(candidate) {
            tried.append(candidate)
            let response = try await http.exchange(candidate, headers: [("Accept", "application/json")])
            guard response.status == 200 else { continue }
            guard case .object(let fields)? = try? JSONValue.parse(response.body),
                let resource = fields["resource"]?.stringValue
            else { throw ClientError("\(candidate) is not protected-resource metadata (RFC 9728): no resource field") }
            // RFC 9728 §3.3: the metadata must be about the resource the client asked for.
            let trimmed = resource.hasSuffix("/") ? String(resource.dropLast()) : resource
            guard serverURL == resource || serverURL.hasPrefix(trimmed) else {
                throw ClientError("\(candidate) describes \(resource), not \(serverURL); the server's metadata is wrong")
            }
            let servers = fields["authorization_servers"]?.arrayValue?.compactMap(\.stringValue) ?? []
            guard !servers.isEmpty else { throw ClientError("\(candidate) names no authorization_servers") }
            progress("found protected-resource metadata at \(candidate)")
            return ProtectedResourceInfo(
                resource: resource, authorizationServers: servers,
                scopesSupported: fields["scopes_supported"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        }
        throw ClientError(
            "\(serverURL) publishes no protected-resource metadata (tried \(tried.joined(separator: ", "))); "
                + "it cannot tell clients where to sign in")
    }

    /// The authorization server's metadata: RFC 8414 then OpenID Connect discovery, path-insert
    /// forms first; `issuer` must equal `issuer` exactly (RFC 8414 §3.3); S256 must be
    /// advertised unless `requiresAdvertisedS256` is false (a third-party provider that is not an
    /// MCP authorization server; PKCE is sent all the same).
    static func authorizationServer(
        issuer: String, http: EgressClient, progress: Progress, requiresAdvertisedS256: Bool = true
    ) async throws(ClientError) -> AuthorizationServerInfo {
        guard let components = URLComponents(string: issuer), let origin = Self.origin(components) else {
            throw ClientError("the authorization server \(issuer) is not an http(s) URL")
        }
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        let candidates =
            path.isEmpty
            ? [origin + "/.well-known/oauth-authorization-server", origin + "/.well-known/openid-configuration"]
            : [
                origin + "/.well-known/oauth-authorization-server" + path, origin + "/.well-known/openid-configuration" + path,
                origin + path + "/.well-known/openid-configuration",
            ]
        for candidate in candidates {
            let response = try await http.exchange(candidate, headers: [("Accept", "application/json")])
            guard response.status == 200 else { continue }
            guard case .object(let fields)? = try? JSONValue.parse(response.body) else {
                throw ClientError("\(candidate) is not JSON")
            }
            guard fields["issuer"]?.stringValue == issuer else {
                throw ClientError(
                    "\(candidate) names issuer \(fields["issuer"]?.stringValue ?? "none"), not \(issuer) (RFC 8414 §3.3); refusing a possible mix-up")
            }
            // MCP authorization 2025-11-25: without S256 in the metadata the client MUST refuse.
            guard !requiresAdvertisedS256 || fields["code_challenge_methods_supported"]?.arrayValue?.contains("S256") == true else {
                throw ClientError("the authorization server \(issuer) does not advertise PKCE S256 (code_challenge_methods_supported); refusing to sign in")
            }
            guard let authorize = fields["authorization_endpoint"]?.stringValue, let token = fields["token_endpoint"]?.stringValue else {
                throw ClientError("\(candidate) lacks authorization_endpoint or token_endpoint")
            }
            progress("found authorization-server metadata at \(candidate)")
            return AuthorizationServerInfo(
                issuer: issuer, authorizationEndpoint: authorize, tokenEndpoint: token,
                registrationEndpoint: fields["registration_endpoint"]?.stringValue,
                revocationEndpoint: fields["revocation_endpoint"]?.stringValue,
                scopesSupported: fields["scopes_supported"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                supportsClientIDMetadataDocuments: fields["client_id_metadata_document_supported"] == true,
                sendsIssuerInResponse: fields["authorization_response_iss_parameter_supported"] == true)
        }
        throw ClientError("\(issuer) publishes no authorization-server metadata (tried \(candidates.joined(separator: ", ")))")
    }

    static func origin(_ url: URLComponents) -> String? {
        guard let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), let host = url.host, !host.isEmpty else {
            return nil
        }
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(hostPart)" + (url.port.map { ":\($0)" } ?? "")
    }
}

/// Where progress lines go (stderr in the CLI).
public typealias Progress = @Sendable (String) -> Void
