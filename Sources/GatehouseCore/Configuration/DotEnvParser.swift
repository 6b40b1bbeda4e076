import Foundation

/// Parses the `.env` files the seed guides use: `KEY=VALUE` lines, `#` comments,
/// an optional `export ` prefix, and values in single or double quotes.
public enum DotEnvParser {
    /// Parses `text`; a line that is not a comment, blank or `KEY=VALUE` is an error
    /// naming its line number (values are never echoed, they may be secrets).
    public static func parse(_ text: String, fileName: String = ".env") throws(ConfigurationError) -> [String: String] {
        var values: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = line.dropFirst("export ".count).trimmingWhitespace() }
            guard let equals = line.firstIndex(of: "="),
                case let key = line[..<equals].trimmingWhitespace(),
                isValidName(key)
            else {
                throw ConfigurationError(
                    key: "\(fileName):\(index + 1)", layer: nil,
                    problem: "expected KEY=VALUE, with KEY made of letters, digits and underscores")
            }
            values[String(key)] = unquote(line[line.index(after: equals)...].trimmingWhitespace())
        }
        return values
    }

    private static func isValidName(_ key: Substring) -> Bool {
        guard let first = key.first, !first.isNumber else { return false }
        return key.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }

    private static func unquote(_ value: Substring) -> String {
        for quote in ["\"", "'"] as [Character] where value.count >= 2 && value.first == quote && value.last == quote {
            return String(value.dropFirst().dropLast())
        }
        // An unquoted value ends at an inline comment introduced by " #".
        if let comment = value.range(of: " #") {
            return String(value[..<comment.lowerBound].trimmingWhitespace())
        }
        return String(value)
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first.isWhitespace { result.removeFirst() }
        while let last = result.last, last.isWhitespace { result.removeLast() }
        return result
    }
}
