import Foundation
import GatehouseCore
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import GatehouseGateway

/// The `exchange` identity against a fake provider token endpoint on a loopback port.
@Suite struct TokenExchangeTests {
    /// What the fake provider received, and how many exchanges it did.
    final class Provider: Sendable {
        let forms = Mutex<[[String: String]]>([])
        let authorizations = Mutex<[String]>([])

        var router: Router<BasicRequestContext> {
            let router = Router()
            router.post("/token") { request, context -> Response in
                let body = try await request.body.collect(upTo: 64 * 1024)
                var form: [String: String] = [:]
                for pair in String(buffer: body).split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? "" }
                    form[parts[0]] = parts.count > 1 ? parts[1] : ""
                }
                self.forms.withLock { $0.append(form) }
                self.authorizations.withLock { $0.append(request.headers[.authorization] ?? "") }
                let json: String
                let status: HTTPResponse.Status
                if form["subject_token"] == "good-token" {
                    status = .ok
                    json = #"{"access_token":"upstream-token-\#(self.forms.withLock { $0.count })","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":300}"#
                } else {
                    status = .badRequest
                    json = #"{"error":"invalid_grant","error_description":"the subject token is not active"}"#
                }
                return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
            }
            return router
        }
    }

    @Test func theCallersTokenIsExchangedAtTheProviderAndTheAnswerReused() async throws {
        let provider = Provider()
        let app = Application(router: provider.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let settings = TokenExchangeSettings(
                tokenEndpoint: "http://127.0.0.1:\(try #require(client.port))/token", clientID: "gateway", clientSecret: "s3cret",
                audience: "docs-api", scope: "docs:read")
            let headers = IdentityHeaders(identity: .tokenExchange(settings), audience: "https://docs.example/mcp", minter: nil)
            let alice = Caller(principal: Principal(subject: "alice"), token: "good-token")
            let first = try await headers.headers(for: alice)
            let again = try await headers.headers(for: alice)
            #expect(first.first?.1 == "Bearer upstream-token-1")
            #expect(again.first?.1 == "Bearer upstream-token-1")
            #expect(provider.forms.withLock { $0.count } == 1)
            let form = try #require(provider.forms.withLock { $0.first })
            #expect(form["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange")
            #expect(form["subject_token"] == "good-token")
            #expect(form["subject_token_type"] == "urn:ietf:params:oauth:token-type:access_token")
            #expect(form["resource"] == "https://docs.example/mcp")
            #expect(form["audience"] == "docs-api")
            #expect(form["scope"] == "docs:read")
            #expect(provider.authorizations.withLock { $0.first } == "Basic " + Data("gateway:s3cret".utf8).base64EncodedString())

            await #expect(throws: UpstreamFailure.identityRefused("the provider would not exchange the caller's token (invalid_grant: the subject token is not active)")) {
                try await headers.headers(for: Caller(principal: Principal(subject: "mallory"), token: "revoked"))
            }
            await #expect(throws: UpstreamFailure.self) {
                try await headers.headers(for: Caller(principal: .anonymous, token: nil))
            }
        }
    }

    @Test func theConfigurationFileNamesTheSecretsVariable() throws {
        let json = #"{"upstreams": [{"name": "docs", "url": "https://docs.example/mcp", "identity": {"type": "exchange", "token_endpoint": "https://login.example/oauth2/token", "client_id": "gw", "client_secret_env": "GW_SECRET"}}]}"#
        let specs = try GatewayConfigurationFile.parse(Data(json.utf8), source: "gateway.json", environment: ["GW_SECRET": "s3cret"])
        #expect(specs[0].identity == .tokenExchange(TokenExchangeSettings(tokenEndpoint: "https://login.example/oauth2/token", clientID: "gw", clientSecret: "s3cret")))
        #expect(!"\(specs[0].identity)".contains("s3cret"))
        let plainHTTP = json.replacingOccurrences(of: "https://login.example", with: "http://login.example")
        #expect(throws: GatewayConfigurationError.self) {
            try GatewayConfigurationFile.parse(Data(plainHTTP.utf8), source: "gateway.json", environment: ["GW_SECRET": "s3cret"])
        }
    }
}
