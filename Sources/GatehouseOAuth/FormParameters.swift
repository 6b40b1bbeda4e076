import Foundation

/// Parameters of an OAuth request: the query of `/authorize` or an
/// `application/x-www-form-urlencoded` body (RFC 6749 Appendix B).
///
/// RFC 6749 §3.1 and §3.2: "Request and response parameters MUST NOT be included more than
/// once", so a repeated parameter is remembered and refused by ``value(_:)``.
public struct FormParameters: Sendable, Equatable {
    private var values: [String: String] = [:]
    private var repeated: Set<String> = []

    /// Parses `name=value&…` with `+` as space and percent-decoding; a malformed escape makes
    /// the whole input invalid.
    public init?(encoded text: String) {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]), let value = Self.decode(parts.count > 1 ? parts[1] : "") else { return nil }
            if values[name] != nil { repeated.insert(name) }
            values[name] = value
        }
    }

    public init(_ values: [String: String]) {
        self.values = values
    }

    /// The parameter's value; `nil` when absent or empty (RFC 6749 §3.1: "Parameters sent
    /// without a value MUST be treated as if they were omitted").
    public func value(_ name: String) throws(OAuthError) -> String? {
        guard !repeated.contains(name) else {
            throw OAuthError(.invalidRequest, "the \(name) parameter is repeated (RFC 6749 §3.1)")
        }
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    /// The parameter's value, or `invalid_request` naming it.
    public func required(_ name: String) throws(OAuthError) -> String {
        guard let value = try value(name) else { throw OAuthError(.invalidRequest, "the \(name) parameter is required") }
        return value
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
