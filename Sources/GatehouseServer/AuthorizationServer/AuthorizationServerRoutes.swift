import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseOAuth
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The embedded authorization server's API: metadata, JWKS, registration, token,
/// revocation and introspection. Every error is an RFC 6749 JSON error, never a page.
struct AuthorizationServerRoutes: Sendable {
    let server: AuthorizationServer
    let verifier: any TokenVerifier
    /// The issuer's path below its origin (a base-URL prefix), or "".
    let issuerPath: String

    /// The metadata, JWKS, registration, token and revocation endpoints are readable from any
    /// origin (browser-based MCP clients call them); introspection is for resource servers only.
    func register<Context: GatehouseContext>(on router: Router<Context>) {
        let api = router.group().add(middleware: CORSMiddleware(audience: .anyOrigin))
        // RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path;
        // OpenID Connect Discovery §4 appends it to the issuer. Both forms are served.
        var metadataPaths = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
        if !issuerPath.isEmpty {
            metadataPaths += ["/.well-known/oauth-authorization-server" + issuerPath, "/.well-known/openid-configuration" + issuerPath]
        }
        for path in metadataPaths {
            api.get(RouterPath(path)) { _, _ in OAuthHTTP.json(server.metadata, cache: "public, max-age=300") }.preflight(RouterPath(path))
        }
        api.get("/jwks") { request, _ in
            do {
                return OAuthHTTP.json(try await server.keys.jwks(), cache: "public, max-age=300")
            } catch {
                return OAuthHTTP.error(OAuthError(.serverError, "the signing keys cannot be read"), request: request)
            }
        }.preflight("/jwks")
        api.post("/register") { request, context in try await registerClient(request, context) }.preflight("/register")
        api.post("/token") { request, context in
            await answer(request, context) { form throws(OAuthError) in
                OAuthHTTP.json(try await server.token(form, authorization: request.headers[.authorization]))
            }
        }.preflight("/token")
        api.post("/revoke") { request, context in
            await answer(request, context) { form throws(OAuthError) in
                try await server.revoke(form, authorization: request.headers[.authorization])
                return Response(status: .ok, headers: [.cacheControl: "no-store"])
            }
        }.preflight("/revoke")
        router.post("/introspect") { request, context in
            await answer(request, context) { form throws(OAuthError) in
                OAuthHTTP.json(try await server.introspect(form, authorization: request.headers[.authorization], verifier: verifier))
            }
        }
    }

    /// Parses the form, runs `handle`, and turns an ``OAuthError`` into its response.
    private func answer(
        _ request: Request, _ context: some GatehouseContext,
        _ handle: (FormParameters) async throws(OAuthError) -> Response
    ) async -> Response {
        do {
            return try await handle(try await OAuthHTTP.form(request))
        } catch {
            if error.code == .serverError { context.logger.error("authorization server failure: \(error.description)") }
            return OAuthHTTP.error(error, request: request)
        }
    }

    /// RFC 7591 §3: open registration, bounded per address.
    private func registerClient(_ request: Request, _ context: some GatehouseContext) async throws -> Response {
        let body: JSONValue
        do throws(OAuthError) {
            let bytes = try await OAuthHTTP.body(request)
            guard let parsed = try? JSONValue.parse(bytes) else {
                throw OAuthError(.invalidClientMetadata, "the registration request must be a JSON object (RFC 7591 §3.1)")
            }
            body = parsed
        } catch {
            return OAuthHTTP.error(error, request: request)
        }
        do {
            switch try await server.registrar.register(body, from: context.remoteIP) {
            case .registered(let response):
                context.logger.info("registered an OAuth client", metadata: ["client_id": "\(response.objectValue?["client_id"]?.stringValue ?? "")"])
                return OAuthHTTP.json(response, status: .created)
            case .refused(let error):
                return OAuthHTTP.error(error, request: request)
            case .throttled(let retryAfter):
                var response = OAuthHTTP.json(
                    OAuthError(.temporarilyUnavailable, "too many client registrations; retry in \(retryAfter) seconds").json,
                    status: .tooManyRequests)
                response.headers[.retryAfter] = "\(retryAfter)"
                return response
            }
        } catch {
            // The store is down or busy: 503 with Retry-After, which the client may retry.
            context.logger.error("cannot store a client registration: \(error)")
            return OAuthHTTP.error(
                OAuthError(.temporarilyUnavailable, "the registration cannot be stored right now; try again in a few seconds"), request: request)
        }
    }
}
