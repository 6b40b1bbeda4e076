import Foundation

/// The parameters of a `WWW-Authenticate: Bearer …` challenge (RFC 6750 §3, RFC 9728 §5.1).
public struct BearerChallengeParameters: Sendable, Equatable {
    public var resourceMetadata: String?
    public var scope: [String]
    public var error: String?

    /// Parses the first Bearer challenge of `header`; `nil` when there is none.
    public init?(header: String) {
        guard let start = header.range(of: "bearer", options: .caseInsensitive) else { return nil }
        var parameters: [String: String] = [:]
        var rest = header[start.upperBound...]
        while let equals = rest.firstIndex(of: "=") {
            let name = rest[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: " ,")).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if escaped {
                        value.append(character)
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        break
                    } else {
                        value.append(character)
                    }
                }
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            if name.contains(" ") { break }  // the next challenge scheme
            parameters[name] = value
        }
        resourceMetadata = parameters["resource_metadata"]
        scope = parameters["scope"].map { $0.split(separator: " ").map(String.init) } ?? []
        error = parameters["error"]
    }
}
