import Foundation
import GatehouseCore
import GatehouseServer
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The embedded authorization server's HTTP surface, as the hub serves it with no provider configured.
@Suite("Embedded authorization server routes")
struct AuthorizationServerRoutesTests {
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    static let redirect = "http://127.0.0.1:5555/callback"

    private func server(_ flags: [String: String] = [:]) async throws -> GatehouseServer {
        let database = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-routes-\(UUID().uuidString)/hub.db")
        var allFlags = ["databasePath": database.path]
        allFlags.merge(flags) { $1 }
        let (configuration, _) = try GatehouseConfiguration.load(from: ConfigurationSources(flags: allFlags))
        return try await GatehouseServer.make(configuration: configuration, logger: .init(label: "test"))
    }

    private static func json(_ buffer: ByteBuffer) throws -> [String: JSONValue] {
        try #require(try JSONValue.parse(Array(buffer.readableBytesView)).objectValue)
    }

    private static func form(_ fields: [String: String]) -> ByteBuffer {
        ByteBuffer(string: URLEncoding.formBody(fields.map { ($0.key, $0.value) }))
    }

    private static let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    private static func register(_ client: some TestClientProtocol) async throws -> String {
        let body = #"{"redirect_uris":["\#(redirect)"],"token_endpoint_auth_method":"none","client_name":"<b>Bold</b> & co","grant_types":["authorization_code","refresh_token"]}"#
        return try await client.execute(uri: "/register", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body)) {
            response in
            #expect(response.status == .created)
            #expect(response.headers[.cacheControl] == "no-store")
            return try #require(try json(response.body)["client_id"]?.stringValue)
        }
    }

    private static func authorizeURI(_ clientID: String, extra: String = "") -> String {
        "/authorize?response_type=code&client_id=\(clientID)&redirect_uri=\(redirect.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
            + "&code_challenge=\(challenge)&code_challenge_method=S256&state=st&resource=http%3A%2F%2F127.0.0.1%3A8884%2Fmcp\(extra)"
    }

    @Test func metadataIsServedAtBothWellKnownLocations() async throws {
        try await Application(router: try await server().router()).test(.router) { client in
            for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
                try await client.execute(uri: path, method: .get) { response in
                    let metadata = try Self.json(response.body)
                    #expect(metadata["issuer"] == "http://127.0.0.1:8884")
                    #expect(metadata["code_challenge_methods_supported"] == ["S256"])
                    #expect(metadata["authorization_response_iss_parameter_supported"] == true)
                    #expect(metadata["client_id_metadata_document_supported"] == true)
                    #expect(metadata["registration_endpoint"] == "http://127.0.0.1:8884/register")
                }
            }
            try await client.execute(uri: "/.well-known/oauth-protected-resource/mcp", method: .get) { response in
                let servers = try Self.json(response.body)["authorization_servers"]
                #expect(servers == ["http://127.0.0.1:8884"])
            }
            try await client.execute(uri: "/jwks", method: .get) { response in
                let key = try #require(try Self.json(response.body)["keys"]?.arrayValue?.first?.objectValue)
                #expect(key["kty"] == "EC")
                #expect(key["d"] == nil)
            }
        }
    }

    @Test func theSignInPageIsSafeToShow() async throws {
        try await Application(router: try await server().router()).test(.router) { client in
            let clientID = try await Self.register(client)
            try await client.execute(uri: Self.authorizeURI(clientID), method: .get) { response in
                #expect(response.status == .ok)
                let csp = try #require(response.headers[.contentSecurityPolicy])
                #expect(csp.contains("frame-ancestors 'none'"))
                #expect(csp.contains("default-src 'none'"))
                #expect(csp.contains("form-action 'self' http://127.0.0.1:5555"))
                #expect(response.headers[.cacheControl] == "no-store")
                #expect(response.headers[.setCookie]?.hasPrefix("gatehouse_browser_") == true)
                let attributes = Set((response.headers[.setCookie] ?? "").split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
                #expect(attributes.isSuperset(of: ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=600"]), "\(attributes)")
                let html = String(buffer: response.body)
                #expect(html.contains("&lt;b&gt;Bold&lt;/b&gt; &amp; co"))
                #expect(!html.contains("<b>Bold</b>"))
                #expect(html.contains("127.0.0.1"))
                #expect(!html.contains("<script"))
            }
        }
    }

    /// Loads the sign-in page in a "browser" holding `cookie`; returns the form's hidden fields and the cookie set.
    private static func openPage(_ client: some TestClientProtocol, _ clientID: String, cookie: String? = nil) async throws
        -> (requestID: String, csrf: String, cookie: String)
    {
        var headers: HTTPFields = [:]
        headers[.cookie] = cookie
        return try await client.execute(uri: authorizeURI(clientID), method: .get, headers: headers) { response in
            let html = String(buffer: response.body)
            let setCookie = try #require(response.headers[.setCookie])
            return (
                try #require(hiddenValue("request_id", in: html)), try #require(hiddenValue("csrf_token", in: html)),
                String(setCookie.prefix { $0 != ";" })
            )
        }
    }

    @Test func aFormPostWithoutTheBrowsersCookieIsRefused() async throws {
        try await Application(router: try await server().router()).test(.router) { client in
            let clientID = try await Self.register(client)
            let page = try await Self.openPage(client, clientID)
            let fields = ["request_id": page.requestID, "csrf_token": page.csrf, "decision": "deny"]
            try await client.execute(uri: "/authorize", method: .post, headers: Self.formHeaders, body: Self.form(fields)) { response in
                #expect(response.status == .badRequest)
                #expect(response.headers[.location] == nil)
            }
            var otherBrowser = Self.formHeaders
            // The same cookie with another browser's binding.
            otherBrowser[.cookie] = page.cookie.prefix { $0 != "=" } + "=" + String(repeating: "A", count: 43)
            try await client.execute(uri: "/authorize", method: .post, headers: otherBrowser, body: Self.form(fields)) { response in
                #expect(response.status == .badRequest)
            }
            var sameBrowser = Self.formHeaders
            sameBrowser[.cookie] = page.cookie
            try await client.execute(uri: "/authorize", method: .post, headers: sameBrowser, body: Self.form(fields)) { response in
                #expect(response.status == .seeOther)
                let location = try #require(response.headers[.location])
                #expect(location.hasPrefix(Self.redirect + "?error=access_denied"))
                #expect(location.contains("state=st"))
                #expect(location.contains("iss=http%3A%2F%2F127.0.0.1%3A8884"))
            }
        }
    }

    @Test func wrongPasswordsAreThrottledPerAccountAcrossPages() async throws {
        let hub = try await server()
        _ = try await hub.authorizationServer?.server.users.create(email: "alice@example.com", name: nil, password: "correct horse battery")
        try await Application(router: hub.router()).test(.router) { client in
            let clientID = try await Self.register(client)
            var statuses: [HTTPResponse.Status] = []
            for attempt in 0..<7 {
                // A new page for every attempt: the count is the account's, not the page's.
                let page = try await Self.openPage(client, clientID)
                var headers = Self.formHeaders
                headers[.cookie] = page.cookie
                let fields = [
                    "request_id": page.requestID, "csrf_token": page.csrf, "decision": "approve", "email": "alice@example.com",
                    "password": "guess \(attempt)",
                ]
                try await client.execute(uri: "/authorize", method: .post, headers: headers, body: Self.form(fields)) { response in
                    statuses.append(response.status)
                    #expect(response.headers[.location] == nil)  // the client is never told "denied"
                    if response.status == .tooManyRequests {
                        #expect(response.headers[.retryAfter] != nil)
                        #expect(String(buffer: response.body).contains("Too many failed sign-ins for this account"))
                    }
                }
            }
            // Five failures are free; the sixth is checked and starts the wait, so the seventh is not checked.
            #expect(statuses == [.unauthorized, .unauthorized, .unauthorized, .unauthorized, .unauthorized, .unauthorized, .tooManyRequests])
        }
    }

    @Test func twoSignInPagesCanBeOpenInOneBrowser() async throws {
        try await Application(router: try await server().router()).test(.router) { client in
            let clientID = try await Self.register(client)
            let first = try await Self.openPage(client, clientID)
            let second = try await Self.openPage(client, clientID, cookie: first.cookie)
            #expect(second.cookie == first.cookie)
            var headers = Self.formHeaders
            headers[.cookie] = first.cookie
            for page in [first, second] {
                let fields = ["request_id": page.requestID, "csrf_token": page.csrf, "decision": "deny"]
                try await client.execute(uri: "/authorize", method: .post, headers: headers, body: Self.form(fields)) { response in
                    #expect(response.status == .seeOther)
                }
            }
        }
    }

    @Test func theEndpointAcceptsOnlyTokensForItself() async throws {
        let other = "http://127.0.0.1:8884/other/mcp"
        try await Application(router: try await server(["devAutoApprove": "true", "extraResources": other]).router()).test(.router) {
            client in
            let clientID = try await Self.register(client)
            let uri = Self.authorizeURI(clientID).replacingOccurrences(
                of: "resource=http%3A%2F%2F127.0.0.1%3A8884%2Fmcp", with: "resource=http%3A%2F%2F127.0.0.1%3A8884%2Fother%2Fmcp")
            let token = try await Self.token(client, clientID: clientID, authorizeURI: uri)
            try await client.execute(uri: "/mcp", method: .post, headers: Self.mcpHeaders(token), body: Self.whoami) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate]?.contains(#"error="invalid_token""#) == true)
            }
        }
    }

    @Test func anUnregisteredRedirectGetsAPageNotARedirect() async throws {
        try await Application(router: try await server().router()).test(.router) { client in
            let clientID = try await Self.register(client)
            let uri = Self.authorizeURI(clientID).replacingOccurrences(of: "5555", with: "5555%2Fother")
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.headers[.location] == nil)
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
            }
        }
    }

    @Test func autoApprovalCompletesTheFlowOverHTTP() async throws {
        try await Application(router: try await server(["devAutoApprove": "true"]).router()).test(.router) { client in
            let clientID = try await Self.register(client)
            let token = try await Self.token(client, clientID: clientID, authorizeURI: Self.authorizeURI(clientID))
            try await client.execute(uri: "/mcp", method: .post, headers: Self.mcpHeaders(token), body: Self.whoami) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("dev@localhost"))
            }
        }
    }

    /// Follows an auto-approved authorization and redeems the code.
    private static func token(_ client: some TestClientProtocol, clientID: String, authorizeURI: String) async throws -> String {
        let code = try await client.execute(uri: authorizeURI, method: .get) { response in
            #expect(response.status == .seeOther)
            let location = try #require(response.headers[.location].flatMap(URLComponents.init(string:)))
            return try #require(location.queryItems?.first { $0.name == "code" }?.value)
        }
        return try await client.execute(
            uri: "/token", method: .post, headers: formHeaders,
            body: form([
                "grant_type": "authorization_code", "code": code, "code_verifier": verifier, "client_id": clientID,
                "redirect_uri": redirect,
            ])
        ) { response in
            #expect(response.status == .ok)
            #expect(response.headers[.cacheControl] == "no-store")
            return try #require(try json(response.body)["access_token"]?.stringValue)
        }
    }

    private static let whoami = ByteBuffer(
        string: #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#)

    private static func mcpHeaders(_ token: String) -> HTTPFields {
        [
            .contentType: "application/json", .accept: "application/json, text/event-stream", .authorization: "Bearer \(token)",
            HTTPField.Name("MCP-Protocol-Version")!: "2026-07-28", HTTPField.Name("Mcp-Method")!: "tools/call",
            HTTPField.Name("Mcp-Name")!: "whoami",
        ]
    }

    @Test func tokenErrorsAreOAuthJSON() async throws {
        try await Application(router: try await server().router()).test(.router) { client in
            try await client.execute(
                uri: "/token", method: .post, headers: Self.formHeaders,
                body: Self.form(["grant_type": "authorization_code", "client_id": "ghc_nobody", "code": "x"])
            ) { response in
                #expect(response.status == .unauthorized)
                let error = try Self.json(response.body)["error"]
                #expect(error == "invalid_client")
            }
            try await client.execute(
                uri: "/token", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{}")
            ) { response in
                #expect(response.status == .badRequest)
                let error = try Self.json(response.body)["error"]
                #expect(error == "invalid_request")
            }
            try await client.execute(
                uri: "/register", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"redirect_uris":["http://evil.example.com/cb"]}"#)
            ) { response in
                #expect(response.status == .badRequest)
                let error = try Self.json(response.body)["error"]
                #expect(error == "invalid_redirect_uri")
            }
        }
    }

    private static func hiddenValue(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: #"name="\#(name)" value=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }
}
