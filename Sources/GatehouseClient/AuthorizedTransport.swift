import Foundation
import GatehouseCore
import GatehouseEgress
import NIOHTTP1

/// Sends requests to one MCP server with the user's access token, and signs in when the server
/// asks: a 401 refreshes the token once, else signs in once; a 403 `insufficient_scope` signs in
/// again with the scopes it names (MCP authorization "Scope Challenge Handling"), at most twice.
/// With an ``AccessTokenSource`` instead, a 401 asks the source once for another token.
actor AuthorizedTransport {
    let serverURL: String
    let http: EgressClient
    let auth: OAuthSession?
    let source: (any AccessTokenSource)?
    /// Headers sent with every request (an API gateway's key, a tenant header).
    let extraHeaders: [(String, String)]
    private var token: String?
    private var tokenLoaded = false

    static let maxStepUps = 2

    init(
        serverURL: String, auth: OAuthSession?, source: (any AccessTokenSource)? = nil, http: EgressClient,
        extraHeaders: [(String, String)] = []
    ) {
        self.serverURL = serverURL
        self.auth = auth
        self.source = source
        self.http = http
        self.extraHeaders = extraHeaders
    }

    /// The `Authorization` header, once the cached token is loaded.
    func authorizationHeader() async throws(ClientError) -> [(String, String)] {
        try await loadToken()
        return extraHeaders + (token.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    /// POSTs `body` with `headers`, signing in when challenged; the whole answer is read.
    func post(_ body: Data, headers: [(String, String)]) async throws(ClientError) -> EgressClient.Response {
        try await authorized { authorization throws(ClientError) in
            let response = try await http.exchange(serverURL, method: .POST, headers: headers + authorization, body: body)
            return (response.status, response.headers, response)
        }
    }

    /// POSTs `body` with `headers`, signing in when challenged; the answer's body streams.
    func stream(_ body: Data, headers: [(String, String)], using client: EgressClient) async throws(ClientError) -> EgressClient.Stream {
        try await authorized { authorization throws(ClientError) in
            do throws(EgressClient.Failure) {
                let response = try await client.stream(serverURL, method: .POST, headers: headers + authorization, body: body)
                return (response.status, response.headers, response)
            } catch {
                throw ClientError(error.description)
            }
        }
    }

    /// Runs `send` with the current token until the server stops asking for another.
    private func authorized<Answer>(
        _ send: ([(String, String)]) async throws(ClientError) -> (status: Int, headers: HTTPHeaders, answer: Answer)
    ) async throws(ClientError) -> Answer {
        try await loadToken()
        var stepUps = 0
        var triedRefresh = false
        var triedLogin = false
        while true {
            let (status, headers, answer) = try await send(try await authorizationHeader())
            if let source {
                guard status == 401, !triedRefresh, let rejected = token, let replacement = try await source.replacement(for: rejected)
                else { return answer }
                triedRefresh = true
                token = replacement
                continue
            }
            guard status == 401 || status == 403, let auth else { return answer }
            let challenge = headers.first(name: "WWW-Authenticate").flatMap(BearerChallengeParameters.init(header:))
            if status == 403 {
                guard challenge?.error == "insufficient_scope", stepUps < Self.maxStepUps else { return answer }
                stepUps += 1
                token = try await auth.login(serverURL: serverURL, challenge: challenge, extraScopes: challenge?.scope ?? []).accessToken
                continue
            }
            // 401: the token is missing, expired or revoked. Refresh once, else sign in once.
            if !triedRefresh, token != nil, let stored = try auth.cache.login(for: serverURL) {
                triedRefresh = true
                if let renewed = try await auth.refresh(stored) {
                    token = renewed.accessToken
                    continue
                }
            }
            guard !triedLogin else { return answer }
            triedLogin = true
            token = try await auth.login(serverURL: serverURL, challenge: challenge).accessToken
        }
    }

    private func loadToken() async throws(ClientError) {
        guard !tokenLoaded else { return }
        if let source {
            token = try await source.accessToken()
        } else if let auth {
            token = try await auth.cachedAccessToken(for: serverURL)
        }
        tokenLoaded = true
    }
}
