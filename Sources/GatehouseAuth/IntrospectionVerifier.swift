import Foundation
import GatehouseCore
import GatehouseEgress

/// Verifies opaque tokens with an RFC 7662 introspection endpoint.
///
/// The request is authenticated as a client with `client_secret_basic` (RFC 6749 §2.3.1)
/// or `client_secret_post`. A token is accepted only when the response says
/// `"active": true` (RFC 7662 §2.2), has not expired, and (when the response names an
/// audience) is for this resource. Wrap in ``CachingVerifier`` to bound the calls.
public struct IntrospectionVerifier: TokenVerifier {
    let settings: AuthSettings.Introspection
    let audiences: [String]
    let fetcher: EgressClient
    let now: @Sendable () -> Date

    public init(
        _ settings: AuthSettings.Introspection, audiences: [String], fetcher: EgressClient = EgressClient(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.settings = settings
        self.audiences = audiences
        self.fetcher = fetcher
        self.now = now
    }

    public func verify(_ token: String) async throws(VerificationFailure) -> Principal {
        var form = [("token", token), ("token_type_hint", "access_token")]
        var headers: [(String, String)] = []
        if settings.sendsCredentialsInBody {
            form += [("client_id", settings.clientID), ("client_secret", settings.clientSecret)]
        } else {
            let credentials = "\(URLEncoding.form(settings.clientID)):\(URLEncoding.form(settings.clientSecret))"
            headers.append(("Authorization", "Basic " + Data(credentials.utf8).base64EncodedString()))
        }
        let response: EgressClient.Response
        do {
            response = try await GatehouseMetrics.timedFetch("introspection") { [form, headers] in
                try await fetcher.postForm(settings.endpoint, form: form, headers: headers)
            }
        } catch {
            throw .providerUnavailable("the introspection endpoint cannot be reached")
        }
        guard response.status == 200, case .object(let claims)? = try? JSONValue.parse(response.body) else {
            throw .providerUnavailable("the introspection endpoint answered HTTP \(response.status)")
        }
        guard claims["active"] == .bool(true) else { throw .invalidToken(.inactive) }
        if case .int(let exp)? = claims["exp"], Date(timeIntervalSince1970: TimeInterval(exp)) <= now() {
            throw .invalidToken(.expired(at: Date(timeIntervalSince1970: TimeInterval(exp)), leeway: 0))
        }
        if claims["aud"] != nil {
            let named = ClaimsValidator.audiences(claims)
            guard named.contains(where: audiences.contains) else {
                throw .invalidToken(.audience(expected: audiences, got: named))
            }
        }
        guard let subject = claims["sub"]?.stringValue ?? claims["username"]?.stringValue else {
            throw .invalidToken(.noSubject)
        }
        return Principal(
            subject: subject, issuer: claims["iss"]?.stringValue, email: claims["email"]?.stringValue,
            clientID: claims["client_id"]?.stringValue, scopes: ClaimsValidator.scopes(claims),
            organizationID: claims["org_id"]?.stringValue, claims: claims)
    }
}
