import Foundation
import GatehouseEgress

extension StoredLogin {
    /// What the token endpoint made of a refresh.
    public enum RefreshOutcome: Sendable, Equatable {
        case refreshed(StoredLogin)
        /// A 4xx: the grant or the client is gone (the OAuth error, else the status); sign in again.
        case refused(String)
        /// A 5xx: the server failed; the grant may still be good.
        case unavailable(String)
    }

    /// Exchanges the refresh token for new tokens (RFC 6749 §6, with the RFC 8707 resource);
    /// `.refused("no refresh token")` when there is none.
    public func refreshed(http: EgressClient) async throws(ClientError) -> RefreshOutcome {
        guard let refreshToken else { return .refused("no refresh token") }
        let form = [("grant_type", "refresh_token"), ("refresh_token", refreshToken)] + (resource.map { [("resource", $0)] } ?? [])
        let (credentials, headers) = OAuthSession.credentials(self)
        let response = try await http.exchangeForm(authorizationServer.tokenEndpoint, form + credentials, headers: headers)
        switch response.status {
        // GitHub answers a refused refresh with 200 and an OAuth error body.
        case 200 where OAuthSession.oauthError(response) != nil: return .refused(OAuthSession.oauthError(response) ?? "")
        case 200: return .refreshed(try OAuthSession.applyTokens(response, to: self))
        case 500...: return .unavailable("HTTP \(response.status)")
        default: return .refused(OAuthSession.oauthError(response) ?? "HTTP \(response.status)")
        }
    }
}
