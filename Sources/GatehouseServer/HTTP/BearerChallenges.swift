import GatehouseAuth
import HTTPTypes
import Hummingbird

/// The `WWW-Authenticate: Bearer` challenges of one protected resource, built in one place for
/// the authentication middleware (no token, a bad one, scopes the server requires) and for the
/// MCP endpoint (scopes one tool requires).
///
/// MCP authorization (2025-06-18 §2.6, 2025-11-25 "Scope Challenge Handling"): a 401 MUST carry
/// the resource metadata URL (RFC 9728 §5.1); a 403 for missing scopes names every scope needed,
/// so a client can step up without losing what it has.
struct BearerChallenges: Sendable {
    let urls: PublicURLs
    /// What a 401 asks for: the required scopes, else every scope a tool uses.
    let challengeScopes: [String]

    /// 401 (or 400 for a malformed request) with the challenge and an OAuth-style JSON body.
    func response(
        _ status: HTTPResponse.Status, for request: Request, error: BearerChallenge.Error? = nil, description: String? = nil,
        scopes: [String]? = nil
    ) -> Response {
        JSONResponse.error(
            status, code: error?.rawValue ?? "unauthorized",
            description: description ?? "this MCP server needs an OAuth access token; see the WWW-Authenticate header",
            headers: [.wwwAuthenticate: header(for: request, error: error, description: description, scopes: scopes)])
    }

    /// The challenge for a request that lacks `needed` scopes (403 `insufficient_scope`).
    func insufficientScope(for request: Request, needed: [String], description: String) -> String {
        header(for: request, error: .insufficientScope, description: description, scopes: needed)
    }

    private func header(for request: Request, error: BearerChallenge.Error?, description: String?, scopes: [String]?) -> String {
        BearerChallenge(
            resourceMetadataURL: urls.resourceMetadata(urls.base(for: request)), scopes: scopes ?? challengeScopes, error: error,
            errorDescription: description
        ).headerValue
    }
}
