import Crypto
import Foundation
import GatehouseCore
import GatehouseEgress

/// Where and as whom the gateway exchanges a caller's token (RFC 8693) for one upstream.
public struct TokenExchangeSettings: Sendable, Equatable {
    /// The provider's token endpoint (the issuer of the callers' tokens).
    public var tokenEndpoint: String
    /// The gateway's client at the provider; authenticated with HTTP Basic (RFC 6749 §2.3.1).
    public var clientID: String
    public var clientSecret: String
    /// `audience` of the request (a logical name the provider knows the upstream by), if any.
    public var audience: String?
    /// `resource` of the request (RFC 8707); `nil` means the upstream URL.
    public var resource: String?
    /// `scope` of the request; `nil` asks for the provider's default.
    public var scope: String?

    public init(
        tokenEndpoint: String, clientID: String, clientSecret: String, audience: String? = nil, resource: String? = nil, scope: String? = nil
    ) {
        self.tokenEndpoint = tokenEndpoint
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.audience = audience
        self.resource = resource
        self.scope = scope
    }
}

/// Exchanges callers' tokens at their provider for tokens meant for one upstream (RFC 8693
/// §2.1), and reuses each answer (``TokenReuse``).
///
/// The caller's token goes only to the provider that issued it, never to the upstream. The cache
/// is keyed by a SHA-256 of the caller's token, so the table holds no caller token.
final class TokenExchanger: Sendable {
    static let grantType = "urn:ietf:params:oauth:grant-type:token-exchange"
    static let accessTokenType = "urn:ietf:params:oauth:token-type:access_token"

    let settings: TokenExchangeSettings
    let defaultResource: String
    private let egress: EgressClient
    private let reuse = TokenReuse<Data>()
    private let now: @Sendable () -> Date

    init(settings: TokenExchangeSettings, defaultResource: String, egress: EgressClient = EgressClient(), now: @escaping @Sendable () -> Date = { Date() }) {
        self.settings = settings
        self.defaultResource = defaultResource
        self.egress = egress
        self.now = now
    }

    /// A token for the upstream in exchange for `callerToken`.
    func exchange(_ callerToken: String) async throws(UpstreamFailure) -> String {
        let key = Data(SHA256.hash(data: Data(callerToken.utf8)))
        let instant = now()
        if let token = reuse.token(for: key, at: instant) { return token }
        var form = [
            ("grant_type", Self.grantType), ("subject_token", callerToken), ("subject_token_type", Self.accessTokenType),
            ("requested_token_type", Self.accessTokenType), ("resource", settings.resource ?? defaultResource),
        ]
        if let audience = settings.audience { form.append(("audience", audience)) }
        if let scope = settings.scope { form.append(("scope", scope)) }
        let basic = Data((URLEncoding.form(settings.clientID) + ":" + URLEncoding.form(settings.clientSecret)).utf8).base64EncodedString()
        let response: EgressClient.Response
        do {
            response = try await egress.postForm(settings.tokenEndpoint, form: form, headers: [("Authorization", "Basic \(basic)")])
        } catch {
            throw .unavailable("cannot reach the token endpoint to exchange the caller's token: \(error)")
        }
        let body = (try? JSONValue.parse(response.body))?.objectValue ?? [:]
        guard response.status == 200, case .string(let token)? = body["access_token"] else {
            // RFC 8693 §2.2.2: errors are RFC 6749 §5.2 errors (invalid_request, invalid_target …).
            let code = body["error"]?.stringValue ?? "HTTP \(response.status)"
            let description = body["error_description"]?.stringValue.map { ": \($0)" } ?? ""
            throw .identityRefused("the provider would not exchange the caller's token (\(code)\(description))")
        }
        let lifetime: Double = switch body["expires_in"] {
        case .int(let seconds)?: Double(seconds)
        case .double(let seconds)?: seconds
        default: 60
        }
        reuse.keep(token, for: key, issuedAt: instant, lifetime: lifetime)
        return token
    }
}
