import Foundation

/// The URL prefix under which clients reach this server, e.g. `https://mcp.example.com`.
///
/// It is the one place that decides the public origin: the canonical resource URL
/// of the MCP endpoint and every discovery URL are built from it and nowhere else.
public struct PublicBaseURL: Sendable, Hashable, CustomStringConvertible {
    /// `http` or `https`, lowercase.
    public var scheme: String
    /// The host, lowercase, without brackets for IPv6 literals.
    public var host: String
    /// The port, or `nil` for the scheme's default.
    public var port: Int?
    /// A path prefix such as `/gatehouse` (a reverse proxy that strips it), or "".
    public var pathPrefix: String

    public init(scheme: String, host: String, port: Int?, pathPrefix: String) {
        self.scheme = scheme
        self.host = host
        let defaultPort = scheme == "https" ? 443 : 80
        self.port = port == defaultPort ? nil : port
        self.pathPrefix = pathPrefix
    }

    /// Parses an absolute `http`/`https` URL without query, fragment or credentials.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: trimmed),
            let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = components.host, !host.isEmpty
        else {
            throw ConfigurationValueError(
                "cannot use \"\(trimmed.prefix(64))\"; expected an absolute http(s) URL such as https://mcp.example.com")
        }
        guard components.query == nil, components.fragment == nil, components.user == nil, components.password == nil
        else {
            throw ConfigurationValueError("the base URL must not carry a query, a fragment or credentials")
        }
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        let bareHost = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.init(scheme: scheme, host: bareHost.lowercased(), port: components.port, pathPrefix: path)
    }

    /// `scheme://host[:port]`, the value browsers send in `Origin` for this server.
    public var origin: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return port.map { "\(scheme)://\(hostPart):\($0)" } ?? "\(scheme)://\(hostPart)"
    }

    /// The absolute URL of `path` (which starts with `/`) under this base URL.
    public func url(for path: String) -> String { origin + pathPrefix + path }

    public var description: String { origin + pathPrefix }
}
