import Foundation
import GatehouseMCP
import Synchronization
import Testing

@Suite("Streamed responses on a live server")
struct StreamingRouteTests {
    /// Reports progress every 100 ms for a minute, unless cancelled (which it records).
    final class Long: Sendable {
        let cancelled = Mutex(false)

        var tool: MCPTool {
            MCPTool(name: "long", description: "Takes a minute.", inputSchema: ["type": "object"]) { [self] _, context in
                for step in 1...600 {
                    context.reportProgress(Double(step), total: 600)
                    do {
                        try await Task.sleep(for: .milliseconds(100))
                    } catch {
                        cancelled.withLock { $0 = true }
                        throw error
                    }
                }
                return .text("done")
            }
        }
    }

    @Test func progressIsWrittenAsItHappensAndAClientThatLeavesCancelsTheTool() async throws {
        let long = Long()
        let server = try await LiveServer.start(env: [:], extraTools: [long.tool])
        let body = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"long","arguments":{},"_meta":{"progressToken":"t","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#
        let call = try await RawConnection.open(port: server.port)
        try await call.send(
            "POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
                + "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: long\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        // Several progress events arrive while the tool runs, each as its own SSE event.
        let start = ContinuousClock.now
        while call.received.components(separatedBy: "notifications/progress").count < 4, ContinuousClock.now - start < .seconds(5) {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(call.received.hasPrefix("HTTP/1.1 200 OK"))
        #expect(call.received.lowercased().contains("content-type: text/event-stream"))
        #expect(call.received.components(separatedBy: "notifications/progress").count >= 4)
        #expect(!call.received.contains("\"result\""))
        await call.close()
        let waited = ContinuousClock.now
        while !long.cancelled.withLock({ $0 }), ContinuousClock.now - waited < .seconds(5) {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(long.cancelled.withLock { $0 }, "the tool kept running after its client left")
        _ = try await server.stop()
    }
}
