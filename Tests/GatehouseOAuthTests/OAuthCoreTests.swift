import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseOAuth
import Logging
import Testing

@Suite("PKCE")
struct PKCETests {
    // RFC 7636 Appendix B.
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

    @Test func theRFCExampleVerifies() throws {
        #expect(try PKCE.validateChallenge(Self.challenge, method: "S256") == Self.challenge)
        #expect(PKCE.verify(Self.verifier, against: Self.challenge))
    }

    @Test func wrongVerifiersFail() {
        #expect(!PKCE.verify(Self.verifier.replacingOccurrences(of: "d", with: "e"), against: Self.challenge))
        #expect(!PKCE.verify("short", against: Self.challenge))
        #expect(!PKCE.verify(String(repeating: "a", count: 129), against: Self.challenge))
        #expect(!PKCE.verify(Self.verifier + "+", against: Self.challenge))
    }

    static let weakChallenges: [(String?, String?)] = [
        (nil, "S256"), (challenge, nil), (challenge, "plain"), ("abc", "S256"), (challenge + "=", "S256"),
    ]

    @Test func weakOrMissingChallengesAreRefused() {
        for (challenge, method) in Self.weakChallenges {
            #expect(throws: OAuthError.self, "\(challenge ?? "nil") \(method ?? "nil")") {
                try PKCE.validateChallenge(challenge, method: method)
            }
        }
    }
}

@Suite("Redirect URIs")
struct RedirectURITests {
    @Test(arguments: [
        "https://app.example.com/callback", "http://127.0.0.1/callback", "http://[::1]:8080/cb", "http://localhost:3000/cb",
        "com.example.app:/oauth2redirect", "https://app.example.com/cb?tenant=1",
    ])
    func acceptableRedirectURIs(uri: String) throws {
        _ = try RedirectURI(registering: uri)
    }

    @Test(arguments: [
        "http://app.example.com/cb", "https://app.example.com/cb#frag", "javascript:alert(1)", "not a uri", "myapp:/cb",
        "https://user:pw@app.example.com/cb", "data:text/html,hi", "https:///cb",
    ])
    func unacceptableRedirectURIs(uri: String) {
        #expect(throws: OAuthError.self) { try RedirectURI(registering: uri) }
    }

    @Test func loopbackMatchesOnAnyPortButNothingElseVaries() throws {
        let registered = try RedirectURI(registering: "http://127.0.0.1/callback")
        #expect(registered.matches("http://127.0.0.1/callback"))
        #expect(registered.matches("http://127.0.0.1:51004/callback"))
        #expect(!registered.matches("http://127.0.0.1:51004/other"))
        #expect(!registered.matches("http://localhost:51004/callback"))
        #expect(!registered.matches("https://127.0.0.1:51004/callback"))
        #expect(!registered.matches("http://127.0.0.1:51004/callback?x=1"))
    }

    @Test func otherRedirectsMatchExactly() throws {
        let registered = try RedirectURI(registering: "https://app.example.com/callback")
        #expect(registered.matches("https://app.example.com/callback"))
        #expect(!registered.matches("https://app.example.com:8443/callback"))
        #expect(!registered.matches("https://app.example.com/callback/"))
        #expect(!registered.matches("https://APP.example.com/callback"))
    }
}

@Suite("Dynamic client registration metadata")
struct ClientMetadataTests {
    @Test func aNativeMCPClientRegisters() throws {
        let metadata = try ClientMetadata(registration: [
            "redirect_uris": ["http://127.0.0.1:33418/callback"], "client_name": "Claude Code",
            "token_endpoint_auth_method": "none", "application_type": "native",
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"], "scope": "mcp:read mcp:write",
            "unknown_field": "ignored",
        ])
        #expect(metadata.authMethod == .none)
        #expect(metadata.applicationType == .native)
        #expect(metadata.scope == ["mcp:read", "mcp:write"])
        #expect(metadata.redirectURI(matching: "http://127.0.0.1:40000/callback") != nil)
        #expect(metadata.redirectURI(matching: "http://127.0.0.1:40000/elsewhere") == nil)
    }

    @Test func defaultsFollowRFC7591() throws {
        let metadata = try ClientMetadata(registration: ["redirect_uris": ["https://app.example.com/cb"]])
        #expect(metadata.authMethod == .clientSecretBasic)
        #expect(metadata.grantTypes == ["authorization_code"])
        #expect(metadata.applicationType == .web)
    }

    @Test func badRedirectURIsAreInvalidRedirectURI() {
        for body: JSONValue in [[:], ["redirect_uris": []], ["redirect_uris": ["http://evil.example/cb"]], ["redirect_uris": [1]]] {
            do {
                _ = try ClientMetadata(registration: body)
                Issue.record("accepted \(body)")
            } catch {
                #expect(error.code == .invalidRedirectURI)
            }
        }
    }

    @Test func badFieldsAreInvalidClientMetadata() {
        let base: [String: JSONValue] = ["redirect_uris": ["https://app.example.com/cb"]]
        for (field, value): (String, JSONValue) in [
            ("token_endpoint_auth_method", "private_key_jwt"), ("grant_types", ["implicit"]), ("response_types", ["token"]),
            ("application_type", "desktop"), ("client_name", ""), ("scope", 1),
        ] {
            var body = base
            body[field] = value
            do {
                _ = try ClientMetadata(registration: .object(body))
                Issue.record("accepted \(field)")
            } catch {
                #expect(error.code == .invalidClientMetadata, "\(field)")
            }
        }
    }
}

@Suite("Authorization server metadata and signing keys")
struct AuthorizationServerTests {
    @Test func metadataClaimsOnlyWhatTheServerDoes() {
        let document = AuthorizationServerMetadata(
            issuer: "http://127.0.0.1:8884", scopesSupported: ["mcp:read"], clientIDMetadataDocumentSupported: true
        ).document.objectValue ?? [:]
        #expect(document["issuer"] == "http://127.0.0.1:8884")
        #expect(document["code_challenge_methods_supported"] == ["S256"])
        #expect(document["response_types_supported"] == ["code"])
        #expect(document["authorization_response_iss_parameter_supported"] == true)
        #expect(document["registration_endpoint"] == "http://127.0.0.1:8884/register")
        #expect(document["jwks_uri"] == "http://127.0.0.1:8884/jwks")
        #expect(document["client_id_metadata_document_supported"] == true)
    }

    @Test func keyIDsAreStableThumbprints() throws {
        let key = SigningKey()
        let restored = try SigningKey(rawRepresentation: key.rawRepresentation)
        #expect(restored.keyID == key.keyID)
        #expect(SigningKey().keyID != key.keyID)
        #expect(key.keyID.count == 43)
    }

    @Test func mintedTokensVerifyWithGatehousesOwnVerifier() async throws {
        let key = SigningKey()
        let jwks = try JSONEncoder().encode(JSONValue.object(["keys": [key.publicJWK]]))
        let verifier = JWTVerifier(
            issuer: "http://127.0.0.1:8884", audiences: ["http://127.0.0.1:8884/mcp"],
            keys: JWKSCache(logger: Logger(label: "test")) { jwks })
        let now = Int(Date().timeIntervalSince1970)
        let token = try key.sign(claims: [
            "iss": "http://127.0.0.1:8884", "aud": "http://127.0.0.1:8884/mcp", "sub": "alice", "client_id": "c1",
            "scope": "mcp:read", "iat": .int(now), "exp": .int(now + 300),
        ])
        let principal = try await verifier.verify(token)
        #expect(principal.subject == "alice")
        #expect(principal.scopes == ["mcp:read"])
        let other = try SigningKey().sign(claims: ["iss": "http://127.0.0.1:8884", "aud": "http://127.0.0.1:8884/mcp", "sub": "eve", "exp": .int(now + 300)])
        await #expect(throws: VerificationFailure.self) { try await verifier.verify(other) }
    }
}
