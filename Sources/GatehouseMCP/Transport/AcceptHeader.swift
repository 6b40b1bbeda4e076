import Foundation
import HTTPTypes

/// What a request's `Accept` header allows among the two MCP response formats.
struct AcceptHeader: Equatable {
    var allowsJSON: Bool
    var allowsEventStream: Bool

    /// Parses `Accept`; a request without one accepts anything (RFC 9110 §12.5.1).
    init(_ fields: HTTPFields) {
        let values = fields[values: .accept]
        guard !values.isEmpty else {
            allowsJSON = true
            allowsEventStream = true
            return
        }
        var ranges: [String] = []
        for value in values {
            for item in value.split(separator: ",") {
                let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                // A media range with q=0 is explicitly not acceptable.
                let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) }
                if quality == 0 { continue }
                if let range = parts.first { ranges.append(range) }
            }
        }
        allowsJSON = ranges.contains { ["application/json", "application/*", "*/*"].contains($0) }
        allowsEventStream = ranges.contains { ["text/event-stream", "text/*", "*/*"].contains($0) }
    }

    var allowsEither: Bool { allowsJSON || allowsEventStream }
}
