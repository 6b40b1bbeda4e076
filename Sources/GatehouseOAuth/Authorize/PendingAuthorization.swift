import Foundation
import GatehouseCore

/// An authorization request waiting for the person's decision, carried by the page itself.
///
/// The consent page's form holds the request sealed with the server's secret key, together
/// with the browser binding (a random value the browser holds in a cookie) and an expiry. A
/// submission counts only when the seal opens, has not expired, and the browser's cookie equals
/// the binding inside, so another site cannot post the form for the person (login CSRF), any
/// instance sharing the key can take the decision, and a flood of `/authorize` requests writes
/// nothing anywhere.
public struct PendingAuthorization: Sendable, Equatable {
    public var request: AuthorizationRequest
    public var browserBinding: String
    public var expiresAt: Date

    public init(request: AuthorizationRequest, browserBinding: String, expiresAt: Date) {
        self.request = request
        self.browserBinding = browserBinding
        self.expiresAt = expiresAt
    }
}

extension AuthorizationServer {
    /// How long a consent page can be submitted.
    static let pendingLifetime: TimeInterval = 600

    /// `request` sealed for the page of the browser holding `browserBinding`.
    public func seal(_ request: AuthorizationRequest, browserBinding: String) throws -> String {
        let document: JSONValue = [
            "client_id": .string(request.client.id),
            "redirect_uri": .string(request.redirectURI),
            "redirect_uri_sent": .bool(request.redirectURIWasSent),
            "state": request.state.map(JSONValue.string) ?? .null,
            "code_challenge": .string(request.codeChallenge),
            "scopes": .array(request.scopes.map(JSONValue.string)),
            "resource": .string(request.resource),
            "browser": .string(browserBinding),
            "expires_at": .int(Int(now().addingTimeInterval(Self.pendingLifetime).timeIntervalSince1970)),
        ]
        var writer = JSONWriter()
        writer.value(document)
        return Base64URL.encode(try secrets.seal(Data(writer.bytes), what: "a pending authorization"))
    }

    /// The request sealed in `sealed`, when the seal opens, has not expired and was made for
    /// the browser holding `browserBinding`; the client is looked up again, so a registration
    /// removed meanwhile ends the request.
    public func openPending(_ sealed: String, browserBinding: String?) async throws(OAuthError) -> PendingAuthorization {
        let expired = OAuthError(
            .invalidRequest, "this sign-in page has expired or was not opened in this browser; start again from the application")
        guard let browserBinding, let bytes = Base64URL.decode(Substring(sealed)),
            let opened = try? secrets.openSealed(bytes, what: "a pending authorization"),
            case .object(let fields)? = try? JSONValue.parse(opened),
            case .string(let binding)? = fields["browser"], binding == browserBinding,
            let expiry = fields["expires_at"]?.intValue, Double(expiry) > now().timeIntervalSince1970,
            case .string(let clientID)? = fields["client_id"], case .string(let redirectURI)? = fields["redirect_uri"],
            case .string(let challenge)? = fields["code_challenge"], case .string(let resource)? = fields["resource"]
        else { throw expired }
        let client = try await clients.client(clientID)
        let request = AuthorizationRequest(
            client: client, redirectURI: redirectURI, redirectURIWasSent: fields["redirect_uri_sent"]?.boolValue ?? true,
            state: fields["state"]?.stringValue, codeChallenge: challenge,
            scopes: fields["scopes"]?.arrayValue?.compactMap(\.stringValue) ?? [], resource: resource)
        return PendingAuthorization(request: request, browserBinding: binding, expiresAt: Date(timeIntervalSince1970: Double(expiry)))
    }
}
