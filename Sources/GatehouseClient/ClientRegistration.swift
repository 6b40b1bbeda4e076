import Foundation
import GatehouseCore
import GatehouseEgress

/// A client id obtained by Dynamic Client Registration (RFC 7591): a public client that signs
/// in with the authorization code flow and PKCE, and refreshes.
public struct ClientRegistration: Sendable, Equatable {
    public var clientID: String
    public var clientSecret: String?

    /// A client id obtained otherwise: pre-registered, a Client ID Metadata Document's URL, or
    /// an earlier registration.
    public init(clientID: String, clientSecret: String?) {
        self.clientID = clientID
        self.clientSecret = clientSecret
    }

    /// Registers `clientName` at `endpoint` with one redirect URI. `applicationType` is OpenID
    /// Connect's: `native` for a loopback callback, `web` for a server's https one.
    public static func register(
        at endpoint: String, clientName: String, redirectURI: String, applicationType: String, http: EgressClient
    ) async throws(ClientError) -> ClientRegistration {
        let request: JSONValue = [
            "client_name": .string(clientName), "redirect_uris": [.string(redirectURI)],
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "token_endpoint_auth_method": "none", "application_type": .string(applicationType),
        ]
        var writer = JSONWriter()
        writer.value(request)
        let response = try await http.exchange(
            endpoint, method: .POST, headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
            body: Data(writer.bytes))
        // RFC 7591 §3.2.1: 201 Created with the client information (200 from lenient servers).
        guard response.status == 201 || response.status == 200, case .object(let fields)? = try? JSONValue.parse(response.body),
            let clientID = fields["client_id"]?.stringValue
        else {
            throw ClientError(
                "registration at \(endpoint) failed: \(OAuthSession.oauthError(response) ?? "HTTP \(response.status)") \(OAuthSession.oauthDescription(response))"
            )
        }
        return ClientRegistration(clientID: clientID, clientSecret: fields["client_secret"]?.stringValue)
    }
}

/// Where an MCP server's clients sign in: its protected-resource metadata (RFC 9728) and its
/// first authorization server's metadata (RFC 8414 or OpenID Connect discovery).
public struct ServerAuthorization: Sendable, Equatable {
    public var resource: ProtectedResourceInfo
    public var server: AuthorizationServerInfo

    /// Discovers them for `serverURL`, in the MCP authorization specification's order.
    public static func discover(
        serverURL: String, challenge: BearerChallengeParameters? = nil, http: EgressClient, progress: @escaping Progress = { _ in }
    ) async throws(ClientError) -> ServerAuthorization {
        let resource = try await Discovery.protectedResource(serverURL: serverURL, challenge: challenge, http: http, progress: progress)
        let server = try await Discovery.authorizationServer(issuer: resource.authorizationServers[0], http: http, progress: progress)
        return ServerAuthorization(resource: resource, server: server)
    }

    /// The metadata of an OAuth provider that is not an MCP server's authorization server (RFC
    /// 8414, then OpenID Connect discovery): it need not advertise PKCE S256, which is sent anyway.
    public static func providerMetadata(issuer: String, http: EgressClient) async throws(ClientError) -> AuthorizationServerInfo {
        try await Discovery.authorizationServer(issuer: issuer, http: http, progress: { _ in }, requiresAdvertisedS256: false)
    }

    /// The scopes to ask for when the caller names none: the resource's, else the server's.
    public var defaultScopes: [String] { resource.scopesSupported.isEmpty ? server.scopesSupported : resource.scopesSupported }
}
