import Foundation
import GatehouseCore
import GatehouseEgress
import GatehouseOAuth

/// WorkOS User Management: people sign in through AuthKit, or through an organization's SSO
/// when an organization or connection is configured; the API key redeems the code at
/// `/user_management/authenticate`.
public struct WorkOSProvider: UpstreamProvider {
    public let displayName: String
    /// The WorkOS API host, e.g. `https://api.workos.com` (an emulator in tests).
    let apiURL: String
    let clientID: String
    let apiKey: SecretString
    let organizationID: String?
    let connectionID: String?
    let fetcher: EgressClient
    let now: @Sendable () -> Date

    public init(
        apiURL: String, clientID: String, apiKey: SecretString, organizationID: String?, connectionID: String?, displayName: String,
        fetcher: EgressClient = EgressClient(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.displayName = displayName
        self.apiURL = apiURL
        self.clientID = clientID
        self.apiKey = apiKey
        self.organizationID = organizationID
        self.connectionID = connectionID
        self.fetcher = fetcher
        self.now = now
    }

    public func authorizationURL(for trip: UpstreamRoundTrip) async throws(UpstreamLoginError) -> String {
        // A connection names one SSO connection, an organization its SSO; otherwise AuthKit.
        let route: (String, String) =
            if let connectionID { ("connection_id", connectionID) } else if let organizationID { ("organization_id", organizationID) } else {
                ("provider", "authkit")
            }
        return UpstreamRoundTrip.url(
            apiURL + "/user_management/authorize",
            [
                ("client_id", clientID), ("redirect_uri", trip.redirectURI), ("response_type", "code"), ("state", trip.state),
                route, ("code_challenge", trip.codeChallenge), ("code_challenge_method", "S256"),
            ])
    }

    public func signIn(code: String, trip: UpstreamRoundTrip) async throws(UpstreamLoginError) -> UpstreamSignIn {
        let fields = try await authenticate(
            ["grant_type": "authorization_code", "code": .string(code), "code_verifier": .string(trip.codeVerifier)],
            redirectURI: trip.redirectURI, presenting: .code)
        guard let tokens = UpstreamTokens(response: fields, now: now()), let user = fields["user"]?.objectValue,
            let subject = user["id"]?.stringValue, !subject.isEmpty
        else { throw .invalidResponse("WorkOS answered the sign-in without a user or access token") }
        if let organizationID, fields["organization_id"]?.stringValue != organizationID {
            throw .denied("the person did not sign in through the organization this server requires")
        }
        let name = [user["first_name"]?.stringValue, user["last_name"]?.stringValue].compactMap { $0 }.filter { !$0.isEmpty }
            .joined(separator: " ")
        return UpstreamSignIn(
            identity: UpstreamIdentity(
                issuer: apiURL, subject: subject, email: user["email"]?.stringValue, name: name.isEmpty ? nil : name,
                organizationID: fields["organization_id"]?.stringValue),
            tokens: tokens)
    }

    public func recheck(_ tokens: UpstreamTokens) async -> (LoginSessionVerdict, UpstreamTokens?) {
        guard let refreshToken = tokens.refreshToken else { return (.signedIn, nil) }
        var body: [String: JSONValue] = ["grant_type": "refresh_token", "refresh_token": .string(refreshToken)]
        if let organizationID { body["organization_id"] = .string(organizationID) }
        do {
            return (.signedIn, UpstreamTokens(response: try await authenticate(body, redirectURI: "", presenting: .refreshToken), previous: tokens, now: now()))
        } catch {
            return (error.verdict, nil)
        }
    }

    /// The API key is checked against the user list, and a configured organization must exist.
    public func startupProblems() async -> [String] {
        var problems: [String] = []
        let probes = [("\(apiURL)/user_management/users?limit=1", "WORKOS_API_KEY")]
            + (organizationID.map { [("\(apiURL)/organizations/\($0)", "WORKOS_ORGANIZATION_ID")] } ?? [])
        for (url, setting) in probes {
            do {
                let response = try await fetcher.get(url, headers: [("Authorization", "Bearer \(apiKey.value)")])
                switch response.status {
                case 200: continue
                case 401, 403: problems.append("WorkOS refused WORKOS_API_KEY (HTTP \(response.status) from \(url))")
                case 404 where setting == "WORKOS_ORGANIZATION_ID": problems.append("WorkOS knows no organization \(organizationID ?? "") (WORKOS_ORGANIZATION_ID)")
                default: problems.append("\(url) answered HTTP \(response.status)")
                }
            } catch {
                problems.append("WorkOS cannot be reached at \(apiURL) (\(error)); check GATEHOUSE_WORKOS_API_URL")
            }
        }
        return problems
    }

    /// POSTs to `/user_management/authenticate` with the client id and API key.
    private func authenticate(
        _ grant: [String: JSONValue], redirectURI: String, presenting: TokenEndpoint.Grant
    ) async throws(UpstreamLoginError) -> [String: JSONValue] {
        var body = grant
        body["client_id"] = .string(clientID)
        body["client_secret"] = .string(apiKey.value)
        var writer = JSONWriter()
        writer.value(.object(body))
        let url = apiURL + "/user_management/authenticate"
        let response: EgressClient.Response
        do {
            response = try await fetcher.send(
                url, method: .POST, headers: [("Content-Type", "application/json"), ("Accept", "application/json")], body: Data(writer.bytes))
        } catch {
            throw .unavailable("WorkOS cannot be reached (\(error))")
        }
        do {
            return try TokenEndpoint.interpret(
                response, url: url, credentialSettings: "WORKOS_CLIENT_ID and WORKOS_API_KEY", redirectURI: redirectURI,
                presenting: presenting)
        } catch {
            throw Self.explain(error, response: response)
        }
    }

    /// WorkOS answers with a `code` when the sign-in needs a step this server cannot show.
    static func explain(_ error: UpstreamLoginError, response: EgressClient.Response) -> UpstreamLoginError {
        let code = (try? JSONValue.parse(response.body))?.objectValue?["code"]?.stringValue
        switch code {
        case "mfa_challenge"?, "mfa_enrollment"?:
            return .denied("WorkOS asks for a second factor this sign-in did not provide; turn on MFA in AuthKit so it is asked there")
        case "email_verification_required"?:
            return .denied("WorkOS requires the person to verify their email address first")
        case "organization_selection_required"?:
            return .denied("the person belongs to several organizations; set WORKOS_ORGANIZATION_ID to choose one")
        case "sso_required"?:
            return .denied("this person's organization requires single sign-on; set WORKOS_ORGANIZATION_ID or WORKOS_CONNECTION_ID")
        default:
            return error
        }
    }
}
