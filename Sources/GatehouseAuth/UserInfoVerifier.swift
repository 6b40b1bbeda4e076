import Foundation
import GatehouseCore
import GatehouseEgress

/// Verifies opaque AuthKit tokens by asking the AuthKit domain's `/oauth2/userinfo` who they belong to.
///
/// A 200 with a `sub` means the token is valid for that user; a 401 means it is not.
/// Wrap in ``CachingVerifier`` so each token costs one call per cache lifetime.
public struct UserInfoVerifier: TokenVerifier {
    let userInfoURL: String
    let issuer: String
    let fetcher: EgressClient

    public init(userInfoURL: String, issuer: String, fetcher: EgressClient = EgressClient()) {
        self.userInfoURL = userInfoURL
        self.issuer = issuer
        self.fetcher = fetcher
    }

    public func verify(_ token: String) async throws(VerificationFailure) -> Principal {
        let response: EgressClient.Response
        do {
            response = try await GatehouseMetrics.timedFetch("userinfo") {
                try await fetcher.get(userInfoURL, headers: [("Authorization", "Bearer \(token)")])
            }
        } catch {
            throw .providerUnavailable("the provider's userinfo endpoint cannot be reached")
        }
        switch response.status {
        case 200:
            guard case .object(let claims)? = try? JSONValue.parse(response.body), let subject = claims["sub"]?.stringValue
            else { throw .providerUnavailable("the userinfo endpoint answered without a subject") }
            return Principal(
                subject: subject, issuer: issuer, email: claims["email"]?.stringValue,
                organizationID: claims["org_id"]?.stringValue, claims: claims)
        case 400, 401, 403:
            throw .invalidToken(.unrecognized("the provider does not recognise the token"))
        default:
            throw .providerUnavailable("the userinfo endpoint answered HTTP \(response.status)")
        }
    }
}
