import Foundation

/// The security events Gatehouse records in its audit log; the names are stable (docs/audit-log.md).
public enum AuditEventName: String, Sendable, CaseIterable {
    /// A request to the MCP endpoint carried a token that was refused (invalid, expired, wrong
    /// audience, malformed, too few scopes). Requests without any token are not recorded: they
    /// are how every client discovers the authorization server.
    case authenticationRefused = "authentication.refused"
    /// A person signed in (password or upstream provider).
    case signInSucceeded = "sign_in.succeeded"
    /// A sign-in failed: wrong password, throttled, or refused by the provider.
    case signInFailed = "sign_in.failed"
    /// A person approved or denied a client's request on the consent page.
    case consentGranted = "consent.granted"
    case consentDenied = "consent.denied"
    /// A client registered dynamically (RFC 7591).
    case clientRegistered = "client.registered"
    /// Tokens were issued for an authorization code.
    case tokenIssued = "token.issued"
    /// A refresh token was exchanged for new tokens.
    case tokenRefreshed = "token.refreshed"
    /// A spent refresh token or authorization code was presented again; its login is revoked.
    case tokenReused = "token.reused"
    /// A login's tokens were revoked (RFC 7009 request, upstream sign-out, logout).
    case tokenRevoked = "token.revoked"
    /// A tool was called.
    case toolCalled = "tool.called"
    /// A hub user added, configured or removed one of their tools.
    case hubToolsChanged = "hub.tools_changed"
    /// A rate limit refused a request.
    case rateLimited = "rate.limited"
}

/// One audit record: its name and fields. Fields never hold a token, secret or password, nor
/// tool arguments.
public struct AuditEvent: Sendable, Equatable {
    public var name: AuditEventName
    public var fields: [String: JSONValue]

    /// An event with the fields that have a value (`nil` ones are left out).
    public init(_ name: AuditEventName, _ fields: [String: JSONValue?] = [:]) {
        self.name = name
        self.fields = fields.compactMapValues { $0 }
    }

    /// The JSON line: `{"time":"…","event":"…",…}` with the fields in name order, and a newline.
    public func line(at time: Date) -> [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.raw("{")
        writer.key("time", first: true)
        writer.string(AuditTime.text(time))
        writer.key("event")
        writer.string(name.rawValue)
        for key in fields.keys.sorted() where key != "time" && key != "event" {
            writer.raw(",")
            writer.string(key)
            writer.raw(":")
            writer.value(fields[key]!)
        }
        writer.raw("}\n")
        return writer.bytes
    }
}

extension JSONValue {
    /// A string field of an audit event, `nil` when there is no value.
    public static func audit(_ text: String?) -> JSONValue? { text.map(JSONValue.string) }
}

/// UTC timestamps with milliseconds, `2026-12-01T06:12:00.123Z`, without a formatter.
enum AuditTime {
    static func text(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis % 1000), 3))Z"
    }
}
