import Foundation
import GatehouseCore
import Testing

@Suite("Audit log")
struct AuditLogTests {
    @Test func anEventIsOneJSONLineWithTimeEventAndSortedFields() throws {
        let event = AuditEvent(.tokenIssued, ["sub": .string("usr_1"), "client_id": .string("ghc_1"), "family": nil, "n": .int(2)])
        let line = String(decoding: event.line(at: Date(timeIntervalSince1970: 1_800_000_000.123_4)), as: UTF8.self)
        #expect(line == #"{"time":"2027-01-15T08:00:00.123Z","event":"token.issued","client_id":"ghc_1","n":2,"sub":"usr_1"}"# + "\n")
        // Fields may not overwrite the two the schema owns.
        let forged = AuditEvent(.toolCalled, ["event": .string("token.revoked"), "time": .string("never")])
        let forgedLine = String(decoding: forged.line(at: Date(timeIntervalSince1970: 0)), as: UTF8.self)
        #expect(forgedLine == #"{"time":"1970-01-01T00:00:00.000Z","event":"tool.called"}"# + "\n")
    }

    @Test func theSinkAppendsWholeLinesToAPrivateFile() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try JSONLinesAuditSink(path: path)
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask { sink.record(AuditEvent(.toolCalled, ["tool": .string("t\(index)")]), at: Date()) }
            }
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 200)
        for line in lines { _ = try JSONValue.parse(Array(line.utf8)) }
        let mode = try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        // A second sink appends rather than truncating.
        try JSONLinesAuditSink(path: path).record(AuditEvent(.rateLimited), at: Date())
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 201)
    }

    @Test func aPathThatCannotBeWrittenIsNamed() {
        #expect(throws: AuditLogError.self) { try JSONLinesAuditSink(path: "/nonexistent-dir/audit.jsonl") }
    }

    @Test func everyEventNameIsDottedLowercase() {
        for name in AuditEventName.allCases {
            #expect(name.rawValue.wholeMatch(of: /[a-z_]+\.[a-z_]+/) != nil, "\(name.rawValue)")
        }
    }
}
