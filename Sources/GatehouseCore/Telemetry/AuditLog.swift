import Foundation
import Synchronization

/// Where audit events go: a JSON-lines file, standard output, or a test's collector.
public protocol AuditSink: Sendable {
    func record(_ event: AuditEvent, at time: Date)
}

/// The process's audit log, bootstrapped once like swift-log's `LoggingSystem` and
/// swift-metrics' `MetricsSystem`: the parts of Gatehouse record events here, and the server
/// (`--audit-log`) or an embedding application decides where they go. Without a sink, recording
/// costs one lock and builds nothing.
public enum AuditLog {
    private static let state = Mutex<(sink: (any AuditSink)?, toolArguments: Bool)>((nil, false))

    /// Sends every later event to `sink` (`nil` turns the audit log off). With `toolArguments`,
    /// `tool.called` events also carry the call's arguments, which may hold whatever users send
    /// to tools: an operator's choice (`GATEHOUSE_AUDIT_TOOL_ARGUMENTS`), off by default.
    public static func bootstrap(_ sink: (any AuditSink)?, toolArguments: Bool = false) {
        state.withLock { $0 = (sink, toolArguments) }
    }

    /// True when `tool.called` events should carry the arguments.
    public static var recordsToolArguments: Bool { state.withLock { $0.sink != nil && $0.toolArguments } }

    /// Records the event `name` with `fields` (only evaluated when a sink is set).
    public static func record(_ name: AuditEventName, _ fields: @autoclosure () -> [String: JSONValue?] = [:]) {
        guard let sink = state.withLock({ $0.sink }) else { return }
        sink.record(AuditEvent(name, fields()), at: Date())
    }
}

/// Writes each event as one JSON line, appended with a single `write`, to a file (created
/// with mode 0600 when missing) or to standard output. Lines from several processes appending
/// to one file do not interleave.
public final class JSONLinesAuditSink: AuditSink {
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let lock = Mutex(())

    /// Appends to `path`; `nil` or `-` writes to standard output.
    public init(path: String?) throws(AuditLogError) {
        guard let path, path != "-" else {
            descriptor = STDOUT_FILENO
            ownsDescriptor = false
            return
        }
        let opened = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard opened >= 0 else {
            throw AuditLogError("cannot open the audit log \(path): \(String(cString: strerror(errno)))")
        }
        descriptor = opened
        ownsDescriptor = true
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    public func record(_ event: AuditEvent, at time: Date) {
        let line = event.line(at: time)
        lock.withLock { _ in
            line.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    guard written > 0 else { return }
                    offset += written
                }
            }
        }
    }
}

/// The audit log cannot be written where it was asked to be.
public struct AuditLogError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
