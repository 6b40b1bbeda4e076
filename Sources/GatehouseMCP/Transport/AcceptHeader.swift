import HTTPTypes

/// What a request's `Accept` header allows among the two MCP response formats.
///
/// Parsed as ASCII bytes: it runs on every request, and String-level splitting and
/// lowercasing cost more than authentication (see `bench/`).
package struct AcceptHeader: Equatable {
    package var allowsJSON: Bool
    package var allowsEventStream: Bool

    /// Parses `Accept`; a request without one accepts anything (RFC 9110 §12.5.1).
    package init(_ fields: HTTPFields) {
        let values = fields[values: .accept]
        guard !values.isEmpty else {
            allowsJSON = true
            allowsEventStream = true
            return
        }
        allowsJSON = false
        allowsEventStream = false
        for value in values {
            for item in value.utf8.split(separator: UInt8(ascii: ",")) {
                let parameters = item.split(separator: UInt8(ascii: ";"))
                guard let range = parameters.first.map(ASCII.trimmed) else { continue }
                // A media range with q=0 is explicitly not acceptable.
                if parameters.dropFirst().contains(where: { ASCII.isZeroQuality(ASCII.trimmed($0)) }) { continue }
                if ASCII.equalsIgnoringCase(range, "application/json") || ASCII.equalsIgnoringCase(range, "application/*") {
                    allowsJSON = true
                } else if ASCII.equalsIgnoringCase(range, "text/event-stream") || ASCII.equalsIgnoringCase(range, "text/*") {
                    allowsEventStream = true
                } else if ASCII.equalsIgnoringCase(range, "*/*") {
                    allowsJSON = true
                    allowsEventStream = true
                }
            }
        }
    }

    var allowsEither: Bool { allowsJSON || allowsEventStream }
}

/// Byte-level helpers for ASCII header values.
enum ASCII {
    static func trimmed(_ bytes: Substring.UTF8View.SubSequence) -> Substring.UTF8View.SubSequence {
        var result = bytes
        while let first = result.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { result = result.dropFirst() }
        while let last = result.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { result = result.dropLast() }
        return result
    }

    static func equalsIgnoringCase(_ bytes: some Collection<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { byte, wanted in
                (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte) == wanted
            }
        }
    }

    /// True for a `q` parameter whose value is zero (`q=0`, `q=0.0`, `q=0.000`).
    static func isZeroQuality(_ parameter: Substring.UTF8View.SubSequence) -> Bool {
        guard parameter.count >= 3, equalsIgnoringCase(parameter.prefix(2), "q=") else { return false }
        let number = parameter.dropFirst(2)
        return number.first == UInt8(ascii: "0")
            && number.dropFirst().allSatisfy { $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: ".") }
    }
}
