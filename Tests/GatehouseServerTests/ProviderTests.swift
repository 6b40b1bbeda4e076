import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// A token provider on a real socket: metadata, introspection, userinfo, and misbehaviours.
@Sendable private func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(bytes: try! JSONEncoder().encode(value))))
}

/// The issuer as the client addressed it, so documents name the port the test server got.
@Sendable private func origin(_ request: Request) -> String { "http://\(request.head.authority ?? "")" }

private func fakeProvider() -> some ApplicationProtocol {
    let router = Router()
    router.get("/.well-known/oauth-authorization-server") { request, _ in
        json([
            "issuer": .string(origin(request)), "jwks_uri": .string(origin(request) + "/jwks"),
            "authorization_endpoint": .string(origin(request) + "/authorize"), "userinfo_endpoint": "x",
            "subject_types_supported": ["public"], "code_challenge_methods_supported": ["S256"],
        ])
    }
    router.get("/.well-known/openid-configuration") { request, _ in
        json(["issuer": .string(origin(request)), "userinfo_endpoint": .string(origin(request) + "/oauth2/userinfo")])
    }
    router.get("/.well-known/oauth-authorization-server/wrong-issuer") { _, _ in json(["issuer": "https://elsewhere.example"]) }
    router.get("/redirect") { _, _ in Response(status: .found, headers: [.location: "https://elsewhere.example/"]) }
    router.get("/big") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: 0x41, count: 600_000))) }
    router.post("/introspect") { request, _ in
        let body = String(buffer: try await request.body.collect(upTo: 10_000))
        let basic = "Basic " + Data("rs:s3cret".utf8).base64EncodedString()
        guard request.headers[.authorization] == basic || body.contains("client_id=rs&client_secret=s3cret") else {
            return json(["error": "invalid_client"], status: .unauthorized)
        }
        let exp = JSONValue.int(Int(Date().timeIntervalSince1970) + 300)
        if body.contains("token=active-token") {
            return json(["active": true, "sub": "alice", "scope": "mcp:read mcp:write", "client_id": "c", "exp": exp, "aud": "http://127.0.0.1:8884/mcp"])
        }
        if body.contains("token=other-audience") { return json(["active": true, "sub": "alice", "exp": exp, "aud": "https://other.example"]) }
        return json(["active": false])
    }
    router.get("/oauth2/userinfo") { request, _ in
        request.headers[.authorization] == "Bearer opaque-ok"
            ? json(["sub": "user_01", "email": "ada@example.com"]) : json(["error": "invalid_token"], status: .unauthorized)
    }
    return Application(router: router)
}

@Suite("Token providers over HTTP")
struct ProviderTests {
    let logger = Logger(label: "test")

    private func base(_ client: some TestClientProtocol) throws -> String {
        "http://127.0.0.1:\(try #require(client.port))"
    }

    @Test func metadataIsValidatedAndStrippedOfOpenIDFields() async throws {
        try await fakeProvider().test(.live) { client in
            let metadata = ProviderMetadata(issuer: try base(client), logger: logger)
            let document = try await metadata.validate()
            #expect(document.fields["jwks_uri"]?.stringValue == "\(try base(client))/jwks")
            #expect(document.fields["userinfo_endpoint"] == nil)
            #expect(document.fields["subject_types_supported"] == nil)
            #expect(try await metadata.document(.openID).fields["userinfo_endpoint"] != nil)
        }
    }

    @Test func missingMetadataExplainsTheFix() async throws {
        try await fakeProvider().test(.live) { client in
            let metadata = ProviderMetadata(issuer: try base(client) + "/no-such-tenant", logger: logger)
            do {
                _ = try await metadata.validate()
                Issue.record("validated a missing document")
            } catch {
                #expect("\(error)".contains("HTTP 404"))
                #expect("\(error)".contains("AuthKit"))
            }
        }
    }

    @Test func issuerMismatchStopsStartUp() async throws {
        try await fakeProvider().test(.live) { client in
            let issuer = try base(client) + "/wrong-issuer"
            // While serving, the mismatch is a provider problem (the request gets 503)…
            let metadata = ProviderMetadata(issuer: issuer, logger: logger)
            await #expect(throws: ProviderProblem.self) { try await metadata.document(.oauth) }
            // …and at start-up it stops the server, naming the fix.
            var settings = AuthSettings()
            settings.provider = .jwt(issuer: issuer, jwksURI: nil)
            do {
                _ = try await Authenticator.make(settings: settings, resourceURL: "http://127.0.0.1:8884/mcp", logger: logger)
                Issue.record("started with a provider whose metadata names another issuer")
            } catch {
                #expect("\(error)".contains("names issuer https://elsewhere.example"))
                #expect("\(error)".contains("--lazy-provider"))
            }
        }
    }

    @Test func introspectionAcceptsOnlyActiveTokensForThisResource() async throws {
        try await fakeProvider().test(.live) { client in
            for inBody in [false, true] {
                let verifier = IntrospectionVerifier(
                    .init(endpoint: try base(client) + "/introspect", clientID: "rs", clientSecret: "s3cret", sendsCredentialsInBody: inBody),
                    audiences: ["http://127.0.0.1:8884/mcp"])
                let principal = try await verifier.verify("active-token")
                #expect(principal.subject == "alice")
                #expect(principal.scopes == ["mcp:read", "mcp:write"])
                await #expect(throws: VerificationFailure.invalidToken(.inactive)) {
                    try await verifier.verify("revoked")
                }
                await #expect(throws: VerificationFailure.invalidToken(.audience(expected: ["http://127.0.0.1:8884/mcp"], got: ["https://other.example"]))) {
                    try await verifier.verify("other-audience")
                }
            }
        }
    }

    @Test func introspectionWithBadCredentialsIsAProviderProblem() async throws {
        try await fakeProvider().test(.live) { client in
            let verifier = IntrospectionVerifier(
                .init(endpoint: try base(client) + "/introspect", clientID: "rs", clientSecret: "wrong", sendsCredentialsInBody: false),
                audiences: ["http://127.0.0.1:8884/mcp"])
            await #expect(throws: VerificationFailure.providerUnavailable("the introspection endpoint answered HTTP 401")) {
                try await verifier.verify("active-token")
            }
        }
    }

    @Test func authKitOpaqueTokensAreCheckedAtUserinfo() async throws {
        try await fakeProvider().test(.live) { client in
            var settings = AuthSettings()
            settings.provider = .authKit(domain: try base(client))
            let authenticator = try #require(
                try await Authenticator.make(settings: settings, resourceURL: "http://127.0.0.1:8884/mcp", logger: logger))
            let principal = try await authenticator.verifier.verify("opaque-ok")
            #expect(principal.subject == "user_01")
            #expect(principal.email == "ada@example.com")
            await #expect(throws: VerificationFailure.invalidToken(.unrecognized("the provider does not recognise the token"))) {
                try await authenticator.verifier.verify("opaque-bad")
            }
        }
    }

    @Test func fetcherFollowsNoRedirectsAndCapsSize() async throws {
        try await fakeProvider().test(.live) { client in
            let fetcher = EgressClient(maxBytes: 100_000)
            let redirect = try await fetcher.get(try base(client) + "/redirect")
            #expect(redirect.status == 302)
            await #expect(throws: EgressClient.Failure.self) { try await fetcher.get(try base(client) + "/big") }
            await #expect(throws: EgressClient.Failure.self) { try await fetcher.get("http://example.com/jwks") }
        }
    }
}
