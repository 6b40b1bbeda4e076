import Foundation

/// What operators watch: the Prometheus listener and the audit log.
public struct OperationsSettings: Sendable, Equatable {
    /// Port of the separate metrics listener (`GET /metrics`); `nil` serves no metrics.
    public var metricsPort: Int?
    /// Interface of the metrics listener; loopback unless set, so metrics are not public by accident.
    public var metricsHost = "127.0.0.1"
    /// Where the audit log's JSON lines go: a file (appended, created 0600) or `-` for standard
    /// output; `nil` keeps no audit log.
    public var auditLogPath: String?
    /// Put each tool call's arguments in its `tool.called` event (they may hold anything users send).
    public var auditToolArguments = false

    public init() {}
}

extension OperationsSettings {
    static func load(from sources: ConfigurationSources) throws(ConfigurationError) -> Self {
        let read = SettingReader(sources: sources)
        var settings = OperationsSettings()
        settings.metricsPort = try read(.metricsPort) { Int($0).flatMap { (1...65535).contains($0) ? $0 : nil } }
        if let host = try read(.metricsHost, { $0.isEmpty ? nil : $0 }) { settings.metricsHost = host }
        settings.auditLogPath = try read(.auditLog) { $0.isEmpty ? nil : $0 }
        settings.auditToolArguments = try read.flag(.auditToolArguments) ?? false
        return settings
    }
}

extension Setting {
    public static let metricsPort = Setting(
        name: "metricsPort", flag: "metrics-port", environmentNames: ["GATEHOUSE_METRICS_PORT"],
        summary: "Serve Prometheus metrics at http://METRICS_HOST:PORT/metrics, a listener of their own (default: none).")
    public static let metricsHost = Setting(
        name: "metricsHost", environmentNames: ["GATEHOUSE_METRICS_HOST"],
        summary: "Interface of the metrics listener (default 127.0.0.1).")
    public static let auditLog = Setting(
        name: "auditLog", flag: "audit-log", environmentNames: ["GATEHOUSE_AUDIT_LOG"],
        summary: "Append security events as JSON lines to this file, or - for standard output (default: none).")

    public static let auditToolArguments = Setting(
        name: "auditToolArguments", environmentNames: ["GATEHOUSE_AUDIT_TOOL_ARGUMENTS"],
        summary: "true to put each tool call's arguments in the audit log (they may hold whatever users send; default false).")

    /// Every operations setting.
    public static let operationsSettings: [Setting] = [.metricsPort, .metricsHost, .auditLog, .auditToolArguments]
}
