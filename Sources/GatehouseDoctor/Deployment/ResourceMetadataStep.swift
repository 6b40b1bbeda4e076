import Foundation
import GatehouseCore

/// Step 2: the protected-resource metadata (RFC 9728), where the challenge says and at the
/// well-known locations clients fall back to (path-aware first, then the root).
struct ResourceMetadataStep {
    struct Metadata {
        var url: String
        var authorizationServers: [String]
    }

    static let step = "resource metadata"

    let url: String
    let headerURL: String?
    let http: ProbeHTTP

    func run(_ log: inout ProbeLog) async -> Metadata? {
        let step = Self.step
        guard let origin = url.origin else { return nil }
        let path = url.pathWithoutTrailingSlash
        let pathAware = path.isEmpty ? nil : origin + "/.well-known/oauth-protected-resource" + path
        let root = origin + "/.well-known/oauth-protected-resource"
        var documents: [String: [String: JSONValue]] = [:]
        var statuses: [String: String] = [:]
        for candidate in [headerURL, pathAware, root].compactMap({ $0 }) where statuses[candidate] == nil {
            let answer = await http.get(candidate)
            if let answer { log.saw(answer, from: candidate) }
            statuses[candidate] = answer.map { "\($0.status)" } ?? "unreachable"
            if let answer, answer.status == 200, let json = answer.json { documents[candidate] = json }
        }
        let chosenURL = [headerURL, pathAware, root].compactMap { $0 }.first { documents[$0] != nil }
        guard let chosenURL, let document = documents[chosenURL] else {
            log.add(
                "prm.unreachable", .error,
                "no protected-resource metadata at \([headerURL, pathAware, root].compactMap { $0 }.map { "\($0) (\(statuses[$0] ?? "?"))" }.joined(separator: ", "))",
                fix: "serve RFC 9728 metadata at \(pathAware ?? root) with resource = \(url) and authorization_servers = [your issuer]",
                step: step)
            return nil
        }
        if let headerURL, documents[headerURL] == nil {
            log.add(
                "prm.header_url_broken", .error,
                "the challenge names \(headerURL), which answered \(statuses[headerURL] ?? "nothing"), while \(chosenURL) works",
                fix: "make the challenge's resource_metadata the URL that serves the document (check the public base URL behind a proxy)",
                step: step, evidence: ["url": headerURL, "status": statuses[headerURL] ?? ""])
        }
        if let pathAware, documents[pathAware] == nil, documents[root] != nil {
            log.add(
                "prm.path_aware_missing", .info,
                "only the root \(root) serves metadata; clients ask \(pathAware) first (RFC 9728 §3.1) and then fall back",
                step: step, evidence: ["url": pathAware, "status": statuses[pathAware] ?? ""])
        }
        let resource = document["resource"]?.stringValue ?? ""
        if Self.trimmed(resource) != Self.trimmed(url) {
            log.add(
                "prm.resource_mismatch", .error,
                "the metadata's resource is \(resource.isEmpty ? "missing" : resource), not \(url); clients refuse it (RFC 9728 §3.3) and tokens get the wrong audience",
                fix: "set the public base URL (HUB_BASE_URL) and MCP path so that resource is exactly \(url)",
                step: step, evidence: ["url": chosenURL, "resource": resource])
        }
        let servers = document["authorization_servers"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard !servers.isEmpty else {
            log.add(
                "prm.no_authorization_servers", .error, "\(chosenURL) names no authorization_servers: clients cannot find where to sign in",
                fix: "list your issuer (e.g. the AuthKit domain) in authorization_servers", step: step, evidence: ["url": chosenURL])
            return nil
        }
        log.add("prm.ok", .info, "\(chosenURL) names \(servers.joined(separator: ", "))", step: step, evidence: ["url": chosenURL])
        return Metadata(url: chosenURL, authorizationServers: servers)
    }

    private static func trimmed(_ text: String) -> String {
        text.hasSuffix("/") ? String(text.dropLast()) : text
    }
}
