import Foundation
import GatehouseCore
import GatehouseEgress
import Testing

@testable import GatehouseLogin

/// A provider's answers become errors a person or operator can act on.
@Suite("Upstream token endpoint answers")
struct TokenEndpointTests {
    private let callback = "https://mcp.example.com/auth/callback"

    private func interpret(_ status: Int, _ body: String, _ grant: TokenEndpoint.Grant = .code) throws(UpstreamLoginError) -> [String: JSONValue] {
        try TokenEndpoint.interpret(
            EgressClient.Response(status: status, body: Data(body.utf8)), url: "https://idp.example/token",
            credentialSettings: "GATEHOUSE_UPSTREAM_CLIENT_ID and GATEHOUSE_UPSTREAM_CLIENT_SECRET", redirectURI: callback, presenting: grant)
    }

    private func error(_ status: Int, _ body: String, _ grant: TokenEndpoint.Grant = .code) -> UpstreamLoginError? {
        do {
            _ = try interpret(status, body, grant)
            return nil
        } catch {
            return error
        }
    }

    @Test func tokensAreRead() throws {
        let fields = try interpret(200, #"{"access_token":"at","refresh_token":"rt","expires_in":60}"#)
        let tokens = try #require(UpstreamTokens(response: fields, now: Date(timeIntervalSince1970: 0)))
        #expect(tokens == UpstreamTokens(accessToken: "at", refreshToken: "rt", expiresAt: Date(timeIntervalSince1970: 60)))
        // A refresh answer without a refresh token keeps the old one (RFC 6749 §6).
        let refreshed = UpstreamTokens(response: ["access_token": "at2"], previous: tokens)
        #expect(refreshed?.refreshToken == "rt")
        #expect(UpstreamTokens(json: tokens.json) == tokens)
    }

    @Test func wrongCredentialsNameTheSettings() {
        guard case .misconfigured(_, let fix)? = error(401, #"{"error":"invalid_client","error_description":"bad secret"}"#) else {
            Issue.record("invalid_client is the operator's to fix")
            return
        }
        #expect(fix.contains("GATEHOUSE_UPSTREAM_CLIENT_SECRET"))
    }

    @Test func anUnregisteredRedirectURINamesTheURIToRegister() {
        guard case .misconfigured(_, let fix)? = error(400, #"{"error":"invalid_grant","error_description":"redirect_uri mismatch"}"#) else {
            Issue.record("a redirect mismatch is the operator's to fix")
            return
        }
        #expect(fix.contains(callback))
    }

    @Test func githubErrorsArriveWithStatus200() {
        guard case .invalidResponse(let reason)? = error(200, #"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#)
        else {
            Issue.record("an error member counts whatever the status")
            return
        }
        #expect(reason.contains("bad_verification_code"))
    }

    @Test func aFailingProviderIsUnavailable() {
        #expect(error(502, "<html>bad gateway</html>") == .unavailable("the identity provider's token endpoint answered HTTP 502"))
        #expect(error(503, #"{"error":"temporarily_unavailable"}"#) != nil)
    }

    @Test func aRefusedRefreshSaysTheLoginEnded() {
        guard case .invalidResponse(let reason)? = error(400, #"{"error":"invalid_grant"}"#, .refreshToken) else {
            Issue.record("a refused refresh ends the login")
            return
        }
        #expect(reason.contains("no longer accepts the login"))
        #expect(UpstreamLoginError.invalidResponse(reason).verdict == .signedOut(reason: reason))
        #expect(UpstreamLoginError.unavailable("down").verdict == .unreachable(reason: "down"))
    }

    @Test func workOSStepsThisServerCannotShowAreDenials() {
        let mfa = EgressClient.Response(status: 403, body: Data(#"{"code":"mfa_challenge","message":"…","pending_authentication_token":"p"}"#.utf8))
        guard case .denied(let reason) = WorkOSProvider.explain(.invalidResponse("x"), response: mfa) else {
            Issue.record("an MFA challenge is a denial with a reason")
            return
        }
        #expect(reason.contains("second factor"))
    }

    @Test func roundTripsAddTheirParametersToTheEndpoint() {
        let trip = UpstreamRoundTrip(
            state: "s", codeVerifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", nonce: "n", redirectURI: callback)
        #expect(trip.codeChallenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        #expect(UpstreamRoundTrip.url("https://idp.example/authorize?tenant=a", [("state", "s t")]) == "https://idp.example/authorize?tenant=a&state=s%20t")
    }
}
