import Foundation
import GatehouseCore
import GatehouseEgress

/// The provider's token endpoint (RFC 6749 §3.2): redeems codes and refresh tokens with this
/// server's client credentials, and turns the provider's errors (§5.2) into ones a person can act on.
struct TokenEndpoint: Sendable {
    let url: String
    let clientID: String
    let clientSecret: SecretString
    /// HTTP Basic (the default every provider must support), or in the form body (GitHub, and
    /// providers that list only that method).
    let authentication: ClientSecretMethod
    /// The settings that hold the credentials, named in errors.
    let credentialSettings: String
    let fetcher: EgressClient

    /// Redeems the code of a sign-in.
    func redeem(code: String, trip: UpstreamRoundTrip) async throws(UpstreamLoginError) -> [String: JSONValue] {
        try await request(
            [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", trip.redirectURI), ("code_verifier", trip.codeVerifier)],
            redirectURI: trip.redirectURI, presenting: .code)
    }

    /// Refreshes a login's tokens.
    func refresh(_ refreshToken: String) async throws(UpstreamLoginError) -> [String: JSONValue] {
        try await request([("grant_type", "refresh_token"), ("refresh_token", refreshToken)], redirectURI: "", presenting: .refreshToken)
    }

    /// Posts `form` and returns the JSON answer, or the error it stands for.
    private func request(
        _ form: [(String, String)], redirectURI: String, presenting grant: Grant
    ) async throws(UpstreamLoginError) -> [String: JSONValue] {
        let credentials = authentication.credentials(clientID: clientID, secret: clientSecret.value)
        let (body, headers) = (form + credentials.form, credentials.headers)
        let response: EgressClient.Response
        do {
            response = try await GatehouseMetrics.timedFetch("upstream_token") { [body, headers] in
                try await fetcher.postForm(url, form: body, headers: headers)
            }
        } catch {
            throw .unavailable("the identity provider's token endpoint cannot be reached (\(error))")
        }
        return try Self.interpret(response, url: url, credentialSettings: credentialSettings, redirectURI: redirectURI, presenting: grant)
    }

    /// What a token request presents, for the words of its errors.
    enum Grant: Sendable {
        case code
        case refreshToken
    }

    /// The answer of a token or authenticate endpoint: its JSON on success, else the error.
    /// GitHub answers errors with 200, so an `error` member counts whatever the status.
    static func interpret(
        _ response: EgressClient.Response, url: String, credentialSettings: String, redirectURI: String, presenting grant: Grant
    ) throws(UpstreamLoginError) -> [String: JSONValue] {
        let fields = (try? JSONValue.parse(response.body))?.objectValue
        if response.status >= 500 || (fields == nil && response.status != 200) {
            throw .unavailable("the identity provider's token endpoint answered HTTP \(response.status)")
        }
        guard let fields else { throw .invalidResponse("the identity provider's token endpoint did not answer JSON") }
        let code = fields["error"]?.stringValue ?? fields["code"]?.stringValue
        guard response.status == 200, code == nil else {
            let description = fields["error_description"]?.stringValue ?? fields["message"]?.stringValue ?? ""
            throw classify(
                code: code ?? "HTTP \(response.status)", description: description, status: response.status,
                credentialSettings: credentialSettings, redirectURI: redirectURI, presenting: grant)
        }
        return fields
    }

    static func classify(
        code: String, description: String, status: Int, credentialSettings: String, redirectURI: String, presenting grant: Grant = .code
    ) -> UpstreamLoginError {
        let said = description.isEmpty ? code : "\(code): \(description.prefix(200))"
        if code == "invalid_client" || code == "unauthorized_client" || status == 401 {
            return .misconfigured(
                problem: "the identity provider refused this server's client credentials (\(said))",
                fix: "check \(credentialSettings) against the application registered at the provider")
        }
        if description.lowercased().contains("redirect") {
            return .misconfigured(
                problem: "the identity provider refused the redirect URI (\(said))",
                fix: "register \(redirectURI) as a redirect (callback) URI of the application at the provider")
        }
        if code == "access_denied" { return .denied("the identity provider refused the sign-in (\(said))") }
        switch grant {
        case .code: return .invalidResponse("the identity provider refused the sign-in code (\(said)); start again from the application")
        case .refreshToken: return .invalidResponse("the identity provider no longer accepts the login (\(said))")
        }
    }
}
