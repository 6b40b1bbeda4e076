import Foundation

/// The parameters of a `WWW-Authenticate: Bearer …` challenge (RFC 6750 §3, RFC 9728 §5.1), as
/// the client commands and `gatehouse doctor` read a server's 401 or 403.
public struct BearerChallengeParameters: Sendable, Equatable {
    /// Every parameter, names lowercased.
    public var parameters: [String: String]

    public var resourceMetadata: String? { parameters["resource_metadata"] }
    public var scope: [String] { parameters["scope"].map { $0.split(separator: " ").map(String.init) } ?? [] }
    public var error: String? { parameters["error"] }

    /// Parses the first Bearer challenge of `header`; `nil` when there is none. `Bearer` counts
    /// only as a scheme name (at the start or after a comma), never inside another challenge's value.
    public init?(header: String) {
        var scanner = Substring(header)
        while let range = scanner.range(of: "bearer", options: .caseInsensitive) {
            let before = header[..<range.lowerBound].last { $0 != " " }
            let after = scanner[range.upperBound...].first
            guard before == nil || before == ",", after == nil || after == " " else {
                scanner = scanner[range.upperBound...]
                continue
            }
            parameters = Self.parse(scanner[range.upperBound...])
            return
        }
        return nil
    }

    private static func parse(_ text: Substring) -> [String: String] {
        var parameters: [String: String] = [:]
        var rest = text
        while let equals = rest.firstIndex(of: "=") {
            let name = rest[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: " ,")).lowercased()
            // Another scheme's name before its parameters ends this challenge.
            if name.contains(" ") { break }
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
            parameters[name] = value
        }
        return parameters
    }
}
