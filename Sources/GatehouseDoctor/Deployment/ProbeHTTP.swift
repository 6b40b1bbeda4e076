import Foundation
import GatehouseCore
import GatehouseEgress
import NIOHTTP1

/// The doctor's HTTP: every request bounded, no redirect followed (a redirect is a finding), and
/// every answer's `Date` kept for the clock check.
struct ProbeHTTP: Sendable {
    /// One exchange as the findings quote it.
    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data

        func header(_ name: String) -> String? { headers.first(name: name) }
        var json: [String: JSONValue]? { (try? JSONValue.parse(body))?.objectValue }
        var isRedirect: Bool { (300..<400).contains(status) }
    }

    let client: EgressClient

    init(timeout: Duration = .seconds(8)) {
        client = EgressClient(timeout: timeout, maxBytes: 512 * 1024, policy: .anyHTTP)
    }

    func send(_ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = [], body: Data? = nil) async -> Result<Answer, EgressClient.Failure> {
        do {
            let response = try await client.send(url, method: method, headers: headers, body: body)
            return .success(Answer(status: response.status, headers: response.headers, body: response.body))
        } catch {
            return .failure(error)
        }
    }

    func get(_ url: String, headers: [(String, String)] = []) async -> Answer? {
        try? await send(url, headers: [("Accept", "application/json")] + headers).get()
    }
}

extension String {
    /// True when the URL is plain http to a host other than loopback.
    var isPlainHTTPOffLoopback: Bool {
        guard let components = URLComponents(string: self), components.scheme?.lowercased() == "http", let host = components.host else {
            return false
        }
        return !HostName.isLoopback(host)
    }

    /// The URL's scheme, host and port.
    var origin: String? {
        guard let components = URLComponents(string: self), let scheme = components.scheme, let host = components.host else { return nil }
        return "\(scheme)://\(host.contains(":") ? "[\(host)]" : host)\(components.port.map { ":\($0)" } ?? "")"
    }

    /// The URL's path without a trailing slash ("" for the root).
    var pathWithoutTrailingSlash: String {
        var path = URLComponents(string: self)?.percentEncodedPath ?? ""
        while path.hasSuffix("/") { path.removeLast() }
        return path
    }
}
