import GatehouseAuth
import GatehouseCore
import Hummingbird
import NIOCore

/// Authenticates requests to the MCP endpoint and puts the caller's ``Principal`` in the context.
///
/// MCP authorization (2025-06-18 §2.6, 2025-11-25): every request to the MCP endpoint MUST
/// carry a valid token; invalid or expired tokens MUST get HTTP 401; the 401 MUST carry a
/// `WWW-Authenticate` header with the resource metadata URL (RFC 9728 §5.1).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = GatehouseRequestContext

    let authenticator: Authenticator
    let urls: PublicURLs
    /// The scopes a 401 challenge asks for: the required ones, else every scope a tool uses.
    let challengeScopes: [String]
    /// Scopes every request needs (`MCP_REQUIRED_SCOPES`), as a set once rather than per request.
    let requiredScopes: Set<String>

    init(authenticator: Authenticator, urls: PublicURLs, challengeScopes: [String]) {
        self.authenticator = authenticator
        self.urls = urls
        self.challengeScopes = challengeScopes
        self.requiredScopes = Set(authenticator.settings.requiredScopes)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Only challenges need the metadata URL; a request with a good token never builds it.
        var metadataURL: String { urls.resourceMetadata(urls.base(for: request)) }
        let token: String
        switch BearerCredentials(headers: request.headers, query: request.uri.query) {
        case .none:
            // RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
            return Self.challenge(.unauthorized, BearerChallenge(resourceMetadataURL: metadataURL, scopes: challengeScopes))
        case .malformed(let reason):
            return Self.challenge(
                .badRequest,
                BearerChallenge(resourceMetadataURL: metadataURL, scopes: challengeScopes, error: .invalidRequest, errorDescription: reason))
        case .token(let value):
            token = value
        }
        let principal: Principal
        do {
            principal = try await authenticator.verifier.verify(token)
        } catch .invalidToken(let reason) {
            context.logger.debug("refused a token", metadata: ["reason": "\(reason)"])
            return Self.challenge(
                .unauthorized,
                BearerChallenge(resourceMetadataURL: metadataURL, scopes: challengeScopes, error: .invalidToken, errorDescription: reason))
        } catch .providerUnavailable(let reason) {
            context.logger.warning("cannot verify tokens", metadata: ["reason": "\(reason)"])
            var response = Self.oauthError(.serviceUnavailable, code: "temporarily_unavailable", description: reason)
            response.headers[.retryAfter] = "5"
            return response
        }
        guard requiredScopes.isSubset(of: principal.scopes) else {
            let needed = requiredScopes.union(principal.scopes).sorted()
            return Self.challenge(
                .forbidden,
                BearerChallenge(
                    resourceMetadataURL: metadataURL, scopes: needed, error: .insufficientScope,
                    errorDescription: "this server needs the scopes \(requiredScopes.sorted().joined(separator: " "))"))
        }
        var context = context
        context.principal = principal
        return try await next(request, context)
    }

    static func challenge(_ status: HTTPResponse.Status, _ challenge: BearerChallenge) -> Response {
        var response = oauthError(
            status, code: challenge.error?.rawValue ?? "unauthorized",
            description: challenge.errorDescription ?? "this MCP server needs an OAuth access token; see the WWW-Authenticate header")
        response.headers[.wwwAuthenticate] = challenge.headerValue
        return response
    }

    /// An OAuth-style JSON error body (RFC 6749 §5.2 field names).
    static func oauthError(_ status: HTTPResponse.Status, code: String, description: String) -> Response {
        var body = JSONWriter()
        body.value(["error": .string(code), "error_description": .string(description)])
        return Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body.bytes)))
    }
}
