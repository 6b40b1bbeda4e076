import Foundation
import GatehouseCore

/// Step 3: one authorization server, found in the MCP spec's discovery order (2025-11-25
/// "Authorization Server Metadata Discovery": RFC 8414 path insertion, then OpenID Connect
/// with path insertion, then OpenID Connect appended), and the parts clients rely on.
struct AuthorizationServerStep {
    struct Server {
        var metadataURL: String
        var tokenEndpoint: String?
    }

    static let step = "authorization server"

    let issuer: String
    let http: ProbeHTTP
    let register: Bool

    /// Where clients look for `issuer`'s metadata, in order.
    static func discoveryURLs(_ issuer: String) -> [String] {
        guard let origin = issuer.origin else { return [] }
        let path = issuer.pathWithoutTrailingSlash
        if path.isEmpty {
            return [origin + "/.well-known/oauth-authorization-server", origin + "/.well-known/openid-configuration"]
        }
        return [
            origin + "/.well-known/oauth-authorization-server" + path, origin + "/.well-known/openid-configuration" + path,
            origin + path + "/.well-known/openid-configuration",
        ]
    }

    func run(_ log: inout ProbeLog) async -> Server? {
        let step = Self.step
        var tried: [String] = []
        var found: (url: String, metadata: [String: JSONValue])?
        for url in Self.discoveryURLs(issuer) {
            let answer = await http.get(url)
            if let answer { log.saw(answer, from: url) }
            tried.append("\(url) (\(answer.map { "\($0.status)" } ?? "unreachable"))")
            if let answer, answer.status == 200, let json = answer.json {
                found = (url, json)
                break
            }
        }
        guard let (metadataURL, metadata) = found else {
            log.add(
                "as.metadata_missing", .error, "no authorization server metadata for \(issuer): \(tried.joined(separator: ", "))",
                fix: "check the issuer URL (for AuthKit: the domain under Authentication → AuthKit, e.g. https://your-project-12345.authkit.app)",
                step: step, evidence: ["issuer": issuer])
            return nil
        }
        var problems = 0
        func add(_ id: String, _ severity: Finding.Severity, _ message: String, fix: String, evidence: [String: String] = [:]) {
            if severity == .error { problems += 1 }
            log.add(id, severity, message, fix: fix, step: step, evidence: ["url": metadataURL].merging(evidence) { $1 })
        }
        let named = metadata["issuer"]?.stringValue ?? ""
        if named != issuer {
            add(
                "as.issuer_mismatch", .error, "\(metadataURL) names issuer \(named.isEmpty ? "none" : named), not \(issuer) (RFC 8414 §3.3: clients must not use it)",
                fix: "make authorization_servers in the resource metadata the exact issuer, or fix the server's issuer",
                evidence: ["issuer": named])
        }
        let methods = metadata["code_challenge_methods_supported"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if !methods.contains("S256") {
            add(
                "as.no_pkce_s256", .error,
                "code_challenge_methods_supported is \(methods.isEmpty ? "missing" : methods.joined(separator: ", ")); MCP clients refuse servers without S256",
                fix: "enable PKCE with S256 and publish code_challenge_methods_supported: [\"S256\"]")
        }
        let registration = metadata["registration_endpoint"]?.stringValue
        if registration == nil, metadata["client_id_metadata_document_supported"]?.boolValue != true {
            add(
                "as.no_registration", .warning,
                "no registration_endpoint and no client_id_metadata_document_supported: clients without a pre-registered id cannot sign in",
                fix: "enable Dynamic Client Registration (AuthKit: Applications → Configuration → Dynamic Client Registration) or Client ID Metadata Documents")
        }
        for field in ["issuer", "authorization_endpoint", "token_endpoint", "registration_endpoint", "jwks_uri"] {
            guard let value = metadata[field]?.stringValue, value.isPlainHTTPOffLoopback else { continue }
            add(
                "as.http_endpoint", .error, "\(field) is plain http (\(value)); OAuth endpoints must be https",
                fix: "serve the authorization server over https and publish https URLs (its base URL behind a proxy)", evidence: [field: value])
        }
        let tokenEndpoint = metadata["token_endpoint"]?.stringValue
        if let tokenEndpoint, !tokenEndpoint.isPlainHTTPOffLoopback { problems += await checkTokenEndpoint(tokenEndpoint, &log) }
        if let jwks = metadata["jwks_uri"]?.stringValue, !jwks.isPlainHTTPOffLoopback { problems += await checkKeys(jwks, &log) }
        if register, let registration, !registration.isPlainHTTPOffLoopback { problems += await RegistrationCheck(endpoint: registration, http: http).run(&log) }
        if problems == 0 { log.add("as.ok", .info, "\(metadataURL) describes \(issuer)", step: step, evidence: ["url": metadataURL]) }
        return Server(metadataURL: metadataURL, tokenEndpoint: tokenEndpoint)
    }

    /// A bogus code must get an RFC 6749 §5.2 JSON error, not an HTML page or a crash.
    private func checkTokenEndpoint(_ url: String, _ log: inout ProbeLog) async -> Int {
        let form = "grant_type=authorization_code&code=gatehouse-doctor-bogus-code&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&client_id=gatehouse-doctor&code_verifier=gatehouse-doctor-bogus-verifier-0000000000000"
        let answer = try? await http.send(
            url, method: .POST, headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Data(form.utf8)
        ).get()
        if let answer { log.saw(answer, from: url) }
        guard let answer, (400..<500).contains(answer.status), answer.json?["error"]?.stringValue != nil else {
            log.add(
                "as.token_error_not_json", .error,
                "the token endpoint answered a bogus code with \(answer.map { "HTTP \($0.status) \($0.header("Content-Type") ?? "")" } ?? "nothing") instead of a JSON error (RFC 6749 §5.2)",
                fix: "check token_endpoint in the metadata points at the OAuth token endpoint, not a web page or a proxy error",
                step: Self.step, evidence: ["url": url, "status": answer.map { "\($0.status)" } ?? "unreachable"])
            return 1
        }
        return 0
    }

    private func checkKeys(_ url: String, _ log: inout ProbeLog) async -> Int {
        guard let answer = await http.get(url), answer.status == 200, let json = answer.json else {
            log.add(
                "as.jwks_unreachable", .error, "jwks_uri \(url) does not answer with a JSON key set: nobody can verify the tokens",
                fix: "check jwks_uri in the metadata and that the key set is served", step: Self.step, evidence: ["url": url])
            return 1
        }
        log.saw(answer, from: url)
        let keys = json["keys"]?.arrayValue ?? []
        guard !keys.isEmpty else {
            log.add(
                "as.jwks_no_keys", .error, "jwks_uri \(url) publishes no keys", fix: "publish the public signing keys (kty, kid, alg)",
                step: Self.step, evidence: ["url": url])
            return 1
        }
        return 0
    }
}

/// `--register`: one real RFC 7591 registration, as a native client would make it.
struct RegistrationCheck {
    let endpoint: String
    let http: ProbeHTTP

    func run(_ log: inout ProbeLog) async -> Int {
        let body = Data(
            #"{"client_name":"gatehouse doctor","redirect_uris":["http://127.0.0.1:53682/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"response_types":["code"]}"#
                .utf8)
        let answer = try? await http.send(
            endpoint, method: .POST, headers: [("Content-Type", "application/json"), ("Accept", "application/json")], body: body
        ).get()
        if let answer, (200..<300).contains(answer.status), let clientID = answer.json?["client_id"]?.stringValue {
            log.add(
                "registration.ok", .info, "registered a test client \(clientID) with a loopback redirect URI", step: AuthorizationServerStep.step,
                evidence: ["url": endpoint, "status": "\(answer.status)"])
            return 0
        }
        let said = answer.flatMap { $0.json?["error_description"]?.stringValue ?? $0.json?["error"]?.stringValue } ?? ""
        log.add(
            "registration.refused", .error,
            "the registration endpoint answered \(answer.map { "HTTP \($0.status)" } ?? "nothing") to a native client with a loopback redirect URI\(said.isEmpty ? "" : ": \(said)")",
            fix: "allow dynamic registration with http://127.0.0.1 redirect URIs on any port (RFC 8252 §7.3), as desktop MCP clients need",
            step: AuthorizationServerStep.step, evidence: ["url": endpoint, "status": answer.map { "\($0.status)" } ?? "unreachable"])
        return 1
    }
}
