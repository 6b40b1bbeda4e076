import Foundation
import GatehouseCore
import GatehouseEgress
import GatehouseOAuth
import Logging

/// Builds the provider that upstream-login settings describe.
public enum UpstreamProviders {
    public static func make(_ settings: UpstreamLoginSettings, fetcher: EgressClient = EgressClient(), logger: Logger) -> any UpstreamProvider {
        switch settings.kind {
        case .oidc(let issuer):
            OIDCProvider(
                issuer: issuer, clientID: settings.clientID, clientSecret: settings.clientSecret, scopes: settings.scopes,
                displayName: settings.displayName, fetcher: fetcher, logger: logger)
        case .oauth2(let authorizeURL, let tokenURL, let userInfoURL):
            OAuth2Provider(
                authorizeURL: authorizeURL, tokenURL: tokenURL, userInfoURL: userInfoURL, clientID: settings.clientID,
                clientSecret: settings.clientSecret, scopes: settings.scopes, displayName: settings.displayName, fetcher: fetcher)
        case .workOS(let apiURL, let organizationID, let connectionID):
            WorkOSProvider(
                apiURL: apiURL, clientID: settings.clientID, apiKey: settings.clientSecret, organizationID: organizationID,
                connectionID: connectionID, displayName: settings.displayName, fetcher: fetcher)
        }
    }

    /// The client that presents the upstream client id as its own (given it out of band, as
    /// claude.ai is): a public client, PKCE only, limited to the configured redirect URIs.
    public static func directClient(_ settings: UpstreamLoginSettings) throws(OAuthError) -> OAuthClient {
        let registration: JSONValue = [
            "redirect_uris": .array(settings.directClientRedirectURIs.map(JSONValue.string)),
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "client_name": .string("Application using the \(settings.displayName) client id"),
        ]
        return OAuthClient(
            id: settings.clientID, metadata: try ClientMetadata(registration: registration), secretHash: nil, isMetadataDocument: false)
    }
}
