import Foundation
import GatehouseCore
import GatehouseEgress

/// Step 1: the MCP endpoint without a token. A protected endpoint answers 401 with a Bearer
/// challenge naming its protected-resource metadata (MCP authorization "Authorization Server
/// Location", RFC 9728 §5.1).
struct EndpointStep {
    enum Outcome {
        case unreachable
        /// The endpoint served the request without a token; the session id, if it gave one.
        case open(session: String?)
        /// Protected (or refusing): the absolute `resource_metadata` URL of the challenge, if any.
        case protected(resourceMetadataURL: String?)
    }

    static let step = "endpoint"
    static let initialize = Data(
        #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"gatehouse-doctor","version":"1"}}}"#
            .utf8)
    static let headers = [
        ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"), ("MCP-Protocol-Version", "2025-11-25"),
    ]

    let url: String
    let http: ProbeHTTP

    func run(_ log: inout ProbeLog) async -> Outcome {
        let step = Self.step
        if url.isPlainHTTPOffLoopback {
            log.add(
                "endpoint.http", .error, "\(url) is plain http: MCP authorization requires https for every endpoint but loopback",
                fix: "serve it over https (a reverse proxy with a certificate, or a tunnel) and give clients the https URL", step: step)
        }
        let answer: ProbeHTTP.Answer
        switch await http.send(url, method: .POST, headers: Self.headers, body: Self.initialize) {
        case .failure(let failure):
            log.add(
                "endpoint.unreachable", .error, "\(failure)", fix: "check the URL, that the server runs, and that this machine can reach it",
                step: step, evidence: ["url": url])
            return .unreachable
        case .success(let received):
            answer = received
        }
        log.saw(answer, from: url)
        let evidence = ["url": url, "status": "\(answer.status)"]
        if answer.isRedirect {
            log.add(
                "endpoint.redirect", .error,
                "\(url) answered \(answer.status) to \(answer.header("Location") ?? "nowhere"); clients do not follow redirects on POST with a body",
                fix: "give clients the exact final URL (often a trailing slash or http→https), or stop the proxy from redirecting /mcp",
                step: step, evidence: evidence.merging(["location": answer.header("Location") ?? ""]) { $1 })
            return .unreachable
        }
        if (200..<300).contains(answer.status) {
            log.add(
                "endpoint.unprotected", .warning, "\(url) answered \(answer.status) to initialize without a token: anyone can use it",
                fix: "if it should need sign-in, put it behind Gatehouse (gatehouse gateway --upstream NAME=\(url)) or configure its auth",
                step: step, evidence: evidence)
            return .open(session: answer.header("Mcp-Session-Id"))
        }
        guard answer.status == 401 else {
            log.add(
                "challenge.status", .error,
                "\(url) answered \(answer.status) without a token; a protected MCP endpoint answers 401 with a Bearer challenge",
                fix: answer.status == 404 ? "check the path (is the endpoint /mcp?) and the server's base URL" : "answer unauthenticated requests with 401 and WWW-Authenticate",
                step: step, evidence: evidence)
            return .protected(resourceMetadataURL: nil)
        }
        guard let challenge = answer.header("WWW-Authenticate"), let parameters = BearerChallengeParameters(header: challenge)?.parameters else {
            log.add(
                "challenge.no_bearer", .error, "the 401 carries no `WWW-Authenticate: Bearer` challenge (RFC 6750 §3, RFC 9728 §5.1)",
                fix: "answer 401 with WWW-Authenticate: Bearer resource_metadata=\"…/.well-known/oauth-protected-resource…\"",
                step: step, evidence: evidence.merging(["www-authenticate": answer.header("WWW-Authenticate") ?? "(none)"]) { $1 })
            return .protected(resourceMetadataURL: nil)
        }
        let seen = evidence.merging(["www-authenticate": challenge]) { $1 }
        guard let metadataURL = parameters["resource_metadata"] else {
            log.add(
                "challenge.no_resource_metadata", .warning,
                "the Bearer challenge has no resource_metadata: clients must guess the well-known URL, and older ones give up",
                fix: "add resource_metadata=\"<absolute URL of the protected-resource metadata>\" to the challenge", step: step, evidence: seen)
            return .protected(resourceMetadataURL: nil)
        }
        guard let components = URLComponents(string: metadataURL), components.scheme != nil, components.host != nil else {
            log.add(
                "challenge.resource_metadata_relative", .error, "resource_metadata is \(metadataURL), not an absolute URL (RFC 9728 §5.1)",
                fix: "send the absolute URL, built from the public base URL (HUB_BASE_URL behind a proxy)", step: step, evidence: seen)
            return .protected(resourceMetadataURL: nil)
        }
        log.add("challenge.ok", .info, "401 with a Bearer challenge naming \(metadataURL)", step: step, evidence: seen)
        return .protected(resourceMetadataURL: metadataURL)
    }
}
