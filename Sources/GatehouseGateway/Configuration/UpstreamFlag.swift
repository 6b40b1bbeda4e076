import Foundation

extension UpstreamSpec {
    /// An upstream from `--upstream NAME=URL` (Streamable HTTP), `--upstream NAME=sse:URL` (the
    /// 2024-11-05 HTTP+SSE transport) or `--upstream NAME=stdio:COMMAND ARGS…` (a command line,
    /// split like a shell does: spaces, single and double quotes, backslash escapes).
    public init(flag: String) throws(GatewayConfigurationError) {
        guard let equals = flag.firstIndex(of: "=") else {
            throw GatewayConfigurationError("--upstream \(flag): expected NAME=URL or NAME=stdio:COMMAND, e.g. docs=http://127.0.0.1:9000/mcp")
        }
        let name = String(flag[..<equals])
        let target = String(flag[flag.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
        let transport: Transport
        if target.hasPrefix("stdio:") {
            let words = try CommandLineWords.split(String(target.dropFirst("stdio:".count)))
            guard let executable = words.first else {
                throw GatewayConfigurationError("--upstream \(name)=stdio: needs a command after stdio:, e.g. \(name)=stdio:python3 server.py")
            }
            transport = .stdio(StdioCommand(executable: executable, arguments: Array(words.dropFirst())))
        } else if target.hasPrefix("sse:") {
            transport = .legacySSE(url: try Self.checkedURL(String(target.dropFirst("sse:".count)), upstream: name))
        } else {
            transport = .streamableHTTP(url: try Self.checkedURL(target, upstream: name))
        }
        self.init(name: name, transport: transport)
        try validate()
    }

    /// Checks what every upstream needs, however it was configured.
    public func validate() throws(GatewayConfigurationError) {
        guard Self.isValidName(name) else {
            throw GatewayConfigurationError(
                "upstream name \"\(name)\" must be 1 to 32 letters, digits or hyphens (no underscore: it separates the upstream from the tool in names such as \(name.isEmpty ? "docs" : name.replacingOccurrences(of: "_", with: "-"))_search)")
        }
        guard timeout >= .seconds(1) else { throw GatewayConfigurationError("upstream \(name): timeout must be at least 1 second") }
        if case .identityHeaders = identity, !isLoopback {
            throw GatewayConfigurationError(
                "upstream \(name): identity \"headers\" is only for upstreams on 127.0.0.1/localhost (anyone could forge the headers elsewhere); use \"jwt\"")
        }
    }

    static func checkedURL(_ text: String, upstream: String) throws(GatewayConfigurationError) -> String {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw GatewayConfigurationError("upstream \(upstream): \"\(text)\" is not an http(s) URL; give the MCP endpoint, e.g. http://127.0.0.1:9000/mcp")
        }
        return text
    }
}

/// Splits a command line into words the way a POSIX shell does for plain words and quotes.
enum CommandLineWords {
    static func split(_ line: String) throws(GatewayConfigurationError) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
                continue
            }
            switch (character, quote) {
            case ("\\", nil), ("\\", "\""):
                escaped = true
                inWord = true
            case ("'", nil), ("\"", nil):
                quote = character
                inWord = true
            case (let close, let open?) where close == open:
                quote = nil
            case (let space, nil) where space.isWhitespace:
                if inWord { words.append(current) }
                current = ""
                inWord = false
            default:
                current.append(character)
                inWord = true
            }
        }
        guard quote == nil, !escaped else { throw GatewayConfigurationError("unbalanced quote or trailing backslash in the command \(line)") }
        if inWord { words.append(current) }
        return words
    }
}

extension Array where Element == UpstreamSpec {
    /// Checks the upstreams together: at least one, distinct names, at most one transparent.
    public func validateTogether() throws(GatewayConfigurationError) {
        guard !isEmpty else {
            throw GatewayConfigurationError("name at least one upstream: --upstream NAME=URL, --upstream NAME=stdio:COMMAND, or --config FILE")
        }
        var seen: Set<String> = []
        for spec in self where !seen.insert(spec.name).inserted {
            throw GatewayConfigurationError("two upstreams are named \(spec.name); names must be distinct")
        }
        let transparent = filter(\.transparent).map(\.name)
        if transparent.count > 1 {
            throw GatewayConfigurationError("only one upstream can be transparent (unprefixed); \(transparent.joined(separator: " and ")) both are")
        }
    }
}
