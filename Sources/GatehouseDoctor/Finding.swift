import GatehouseCore

/// One thing `gatehouse doctor` found: a stable id, how bad it is, what was seen and what to do.
public struct Finding: Sendable, Equatable {
    public enum Severity: String, Sendable, Comparable {
        case info, warning, error

        public static func < (lhs: Severity, rhs: Severity) -> Bool {
            let order: [Severity] = [.info, .warning, .error]
            return order.firstIndex(of: lhs)! < order.firstIndex(of: rhs)!
        }
    }

    /// Stable across releases (docs/doctor.md lists every id), e.g. `token.expired`.
    public var id: String
    public var severity: Severity
    /// What was seen.
    public var message: String
    /// What a person can do about it; empty for findings that need nothing.
    public var fix: String
    /// The step of the diagnosis that found it (`endpoint`, `resource metadata` …); `nil` for token findings.
    public var step: String?
    /// What was seen: the URL asked, the status, the header, as text.
    public var evidence: [String: String]

    public init(_ id: String, _ severity: Severity, _ message: String, fix: String = "", step: String? = nil, evidence: [String: String] = [:]) {
        self.id = id
        self.severity = severity
        self.message = message
        self.fix = fix
        self.step = step
        self.evidence = evidence
    }

    /// The finding as `--json` prints it.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["id": .string(id), "severity": .string(severity.rawValue), "message": .string(message)]
        if !fix.isEmpty { object["fix"] = .string(fix) }
        if let step { object["step"] = .string(step) }
        if !evidence.isEmpty { object["evidence"] = .object(evidence.mapValues(JSONValue.string)) }
        return .object(object)
    }
}
