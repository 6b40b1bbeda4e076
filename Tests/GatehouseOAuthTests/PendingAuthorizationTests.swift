import Foundation
import GatehouseCore
import Testing

@testable import GatehouseOAuth

/// The consent page carries its request sealed: it opens only in the browser it was made for,
/// only until it expires, and only as the server sealed it.
@Suite("Sealed pending authorizations and browser sessions")
struct PendingAuthorizationTests {
    private func request(_ harness: Harness) async throws -> AuthorizationRequest {
        let client = try await harness.register()
        let parameters = FormParameters([
            "response_type": "code", "client_id": client.id, "redirect_uri": Harness.redirect, "code_challenge": Harness.challenge,
            "code_challenge_method": "S256", "state": "st", "scope": "tools:read",
        ])
        guard case .valid(let request) = await harness.server.checkAuthorization(parameters) else {
            throw OAuthError(.invalidRequest, "the test request was not valid")
        }
        return request
    }

    @Test func aSealedRequestOpensInItsBrowserUntilItExpires() async throws {
        let harness = try Harness()
        let request = try await request(harness)
        let sealed = try harness.server.seal(request, browserBinding: "browser-a")
        let opened = try await harness.server.openPending(sealed, browserBinding: "browser-a")
        #expect(opened.request == request)
        await #expect(throws: OAuthError.self) { try await harness.server.openPending(sealed, browserBinding: "browser-b") }
        await #expect(throws: OAuthError.self) { try await harness.server.openPending(sealed, browserBinding: nil) }
        harness.clock.advance(601)
        await #expect(throws: OAuthError.self) { try await harness.server.openPending(sealed, browserBinding: "browser-a") }
    }

    @Test func aTamperedOrForeignSealIsRefused() async throws {
        let harness = try Harness()
        let sealed = try harness.server.seal(try await request(harness), browserBinding: "browser-a")
        var bytes = Array(sealed.utf8)
        bytes[bytes.count / 2] = bytes[bytes.count / 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        await #expect(throws: OAuthError.self) { try await harness.server.openPending(String(decoding: bytes, as: UTF8.self), browserBinding: "browser-a") }
        // Plain JSON, base64url-encoded: what an attacker could write without the key.
        let forged = Base64URL.encode(Data(#"{"client_id":"x","browser":"browser-a","expires_at":9999999999}"#.utf8))
        await #expect(throws: OAuthError.self) { try await harness.server.openPending(forged, browserBinding: "browser-a") }
        let other = try Harness()
        await #expect(throws: OAuthError.self) { try await other.server.openPending(sealed, browserBinding: "browser-a") }
    }

    @Test func browserSessionsNameTheirUserUntilTheyExpire() async throws {
        let harness = try Harness()
        let cookie = try harness.server.sealBrowserSession(userID: "usr_ada")
        #expect(harness.server.openBrowserSession(cookie) == "usr_ada")
        #expect(harness.server.openBrowserSession("usr_ada") == nil)
        #expect(try Harness().server.openBrowserSession(cookie) == nil)
        harness.clock.advance(AuthorizationServer.browserSessionLifetime + 1)
        #expect(harness.server.openBrowserSession(cookie) == nil)
    }

    @Test func aConsentCoversOnlyTheSameClientRedirectResourceAndFewerScopes() async throws {
        let harness = try Harness()
        let request = try await request(harness)
        let consent = Consent(
            userID: "usr", clientID: request.client.id, redirectURI: request.redirectURI, resource: request.resource,
            scopes: ["tools:read", "tools:write"], grantedAt: harness.clock.now)
        #expect(consent.covers(request))
        var wider = request
        wider.scopes = ["tools:read", "admin"]
        #expect(!consent.covers(wider))
        var elsewhere = request
        elsewhere.redirectURI = "http://127.0.0.1:5555/other"
        #expect(!consent.covers(elsewhere))
    }
}
