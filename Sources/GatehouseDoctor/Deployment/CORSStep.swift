import Foundation
import GatehouseCore

/// Step 4: what a browser-based client (the MCP Inspector, web apps) needs: preflights answered
/// before authentication, without redirects, allowing the MCP headers; metadata readable from any
/// origin.
struct CORSStep {
    static let step = "cors"
    static let origin = "https://client.example"

    let url: String
    let resourceMetadataURL: String
    /// Authorization server metadata and token endpoints.
    let authorizationServerURLs: [String]
    let http: ProbeHTTP

    func run(_ log: inout ProbeLog) async {
        let before = log.findings.count
        await preflight(url, method: "POST", headers: ["authorization", "content-type", "mcp-protocol-version", "mcp-session-id"], &log)
        for metadata in [resourceMetadataURL] + authorizationServerURLs {
            await preflight(metadata, method: metadata.contains("/.well-known/") ? "GET" : "POST", headers: ["mcp-protocol-version"], &log)
        }
        for metadata in ([resourceMetadataURL] + authorizationServerURLs).filter({ $0.contains("/.well-known/") }) {
            guard let answer = await http.get(metadata, headers: [("Origin", Self.origin)]), answer.status == 200 else { continue }
            if !allows(answer) {
                log.add(
                    "cors.metadata_not_readable", .warning, "\(metadata) sends no Access-Control-Allow-Origin: browser clients cannot read it",
                    fix: "send Access-Control-Allow-Origin: * on discovery documents (they are public)", step: Self.step, evidence: ["url": metadata])
            }
        }
        if !log.findings[before...].contains(where: { $0.severity != .info }) {
            log.add("cors.ok", .info, "preflights and metadata reads work from another origin", step: Self.step)
        }
    }

    private func preflight(_ target: String, method: String, headers: [String], _ log: inout ProbeLog) async {
        let answer = try? await http.send(
            target, method: .OPTIONS,
            headers: [
                ("Origin", Self.origin), ("Access-Control-Request-Method", method),
                ("Access-Control-Request-Headers", headers.joined(separator: ", ")),
            ]
        ).get()
        guard let answer else { return }
        let evidence = ["url": target, "status": "\(answer.status)"]
        if answer.isRedirect {
            log.add(
                "cors.preflight_redirect", .error,
                "the preflight of \(target) was redirected to \(answer.header("Location") ?? "?"); browsers fail a redirected preflight",
                fix: "answer OPTIONS directly (tunnels and proxies that redirect http→https or add a slash break it)",
                step: Self.step, evidence: evidence)
            return
        }
        if answer.status == 403, target == url {
            // Origin validation working as the transport requires: browser clients must be allowed by name.
            log.add(
                "cors.origin_refused", .info,
                "\(target) refuses the browser origin \(Self.origin) (403): it validates Origin, so browser-based clients work only from origins it allows",
                fix: "allow the origins of the browser clients you use (Gatehouse: GATEHOUSE_ALLOWED_ORIGINS)", step: Self.step, evidence: evidence)
            return
        }
        guard (200..<300).contains(answer.status), allows(answer) else {
            log.add(
                "cors.preflight_refused", .warning,
                "the preflight of \(target) got \(answer.status)\(allows(answer) ? "" : " without Access-Control-Allow-Origin"); browser clients cannot call it",
                fix: "answer OPTIONS with 204 and the CORS headers before authentication", step: Self.step, evidence: evidence)
            return
        }
        let allowed = (answer.header("Access-Control-Allow-Headers") ?? "").lowercased()
        let missing = allowed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.contains("*")
            ? [] : headers.filter { !allowed.contains($0) }
        if !missing.isEmpty {
            log.add(
                "cors.headers_missing", .warning, "the preflight of \(target) does not allow \(missing.joined(separator: ", "))",
                fix: "add them to Access-Control-Allow-Headers (MCP clients send MCP-Protocol-Version and Mcp-Session-Id)",
                step: Self.step, evidence: evidence.merging(["access-control-allow-headers": answer.header("Access-Control-Allow-Headers") ?? ""]) { $1 })
        }
    }

    private func allows(_ answer: ProbeHTTP.Answer) -> Bool {
        let origin = answer.header("Access-Control-Allow-Origin")
        return origin == "*" || origin == Self.origin
    }
}
