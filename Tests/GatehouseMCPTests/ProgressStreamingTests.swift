import Foundation
import GatehouseCore
@testable import GatehouseMCP
import HTTPTypes
import Synchronization
import Testing

@Suite("Progress streaming")
struct ProgressStreamingTests {
    /// Reports progress three times, `pause` apart, then answers; remembers whether it was cancelled.
    final class Steps: Sendable {
        let cancelled = Mutex(false)
        let pause: Duration

        init(pause: Duration = .milliseconds(50)) {
            self.pause = pause
        }

        var tool: MCPTool {
            MCPTool(name: "steps", description: "Three steps.", inputSchema: ["type": "object"]) { [self] _, context in
                for step in 1...3 {
                    context.reportProgress(Double(step), total: 3, message: "step \(step)")
                    do {
                        try await Task.sleep(for: pause)
                    } catch {
                        cancelled.withLock { $0 = true }
                        throw error
                    }
                }
                return .text("done")
            }
        }
    }

    static let withToken = #""name":"steps","arguments":{},"_meta":{"progressToken":"p-1","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#

    private func request(_ params: String, accept: String = "application/json, text/event-stream") -> MCPHTTPRequest {
        let headers: HTTPFields = [
            .contentType: "application/json", .accept: accept, .mcpProtocolVersion: "2026-07-28", .mcpMethod: "tools/call", .mcpName: "steps",
        ]
        return MCPHTTPRequest(method: .post, headerFields: headers, body: Data(#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{\#(params)}}"#.utf8))
    }

    /// The messages of an SSE body, in order.
    private func messages(_ body: Data) -> [JSONValue] {
        String(decoding: body, as: UTF8.self).components(separatedBy: "\n\n").compactMap { event in
            event.split(separator: "\n").first { $0.hasPrefix("data: ") }.flatMap { try? JSONValue.parse(Array($0.dropFirst(6).utf8)) }
        }
    }

    @Test func progressArrivesAsEventsBeforeTheResult() async throws {
        let steps = Steps()
        let harness = EndpointHarness(tools: [steps.tool])
        let response = await harness.endpoint.respond(to: request(Self.withToken), logger: EndpointHarness.logger)
        #expect(response.status == .ok)
        #expect(response.headerFields[.contentType] == "text/event-stream")
        guard case .events = response.body else { Issue.record("not streamed"); return }
        let received = messages(await response.body.collected())
        #expect(received.count == 4)
        #expect(received.prefix(3).map { $0.objectValue?["method"] } == Array(repeating: "notifications/progress", count: 3))
        #expect(received[0].objectValue?["params"] == ["progressToken": "p-1", "progress": 1.0, "total": 3.0, "message": "step 1"])
        #expect(received[3].objectValue?["id"] == 7)
        #expect(received[3].objectValue?["result"]?.objectValue?["content"]?.arrayValue?.first?.objectValue?["text"] == "done")
    }

    @Test func withoutATokenOrWithoutSSEItIsOneJSONResponse() async throws {
        let harness = EndpointHarness(tools: [Steps().tool])
        let params = #""name":"steps","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#
        for response in [
            await harness.endpoint.respond(to: request(params), logger: EndpointHarness.logger),
            await harness.endpoint.respond(to: request(Self.withToken, accept: "application/json"), logger: EndpointHarness.logger),
        ] {
            #expect(response.headerFields[.contentType] == "application/json")
            guard case .bytes(let body) = response.body else { Issue.record("streamed"); continue }
            #expect(try JSONValue.parse(body).objectValue?["id"] == 7)
        }
    }

    @Test func anErrorBeforeAnyProgressKeepsItsStatus() async throws {
        let harness = EndpointHarness(tools: [Steps().tool])
        var request = request(Self.withToken.replacingOccurrences(of: #""name":"steps""#, with: #""name":"nope""#))
        request.headerFields[.mcpName] = "nope"
        let response = await harness.endpoint.respond(to: request, logger: EndpointHarness.logger)
        #expect(response.status == .badRequest)  // -32602 unknown tool, as a stateless error status
        #expect(response.headerFields[.contentType] == "application/json")
    }

    @Test func aClientThatStopsReadingCancelsTheTool() async throws {
        // Steps far longer than the test waits: the tool cannot finish on its own first, however
        // slowly a loaded machine runs the test (with 50 ms steps it sometimes had, and was never cancelled).
        let steps = Steps(pause: .seconds(20))
        let harness = EndpointHarness(tools: [steps.tool])
        let response = await harness.endpoint.respond(to: request(Self.withToken), logger: EndpointHarness.logger)
        guard case .events(let events) = response.body else { Issue.record("not streamed"); return }
        // The writer of the response reads the first event, then its task ends: the client went away.
        let writer = Task {
            var iterator = events.makeAsyncIterator()
            _ = await iterator.next()
            try? await Task.sleep(for: .seconds(10))
            _ = await iterator.next()
        }
        try await Task.sleep(for: .milliseconds(20))
        writer.cancel()
        await writer.value
        // The tool's pause ends with the cancellation; on a loaded machine that can take a moment.
        let deadline = ContinuousClock.now + .seconds(5)
        while !steps.cancelled.withLock({ $0 }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(steps.cancelled.withLock { $0 })
    }

    @Test func sessionsStreamProgressToo() async throws {
        let harness = EndpointHarness(tools: [Steps().tool])
        let session = await harness.initialize()
        let reply = await harness.inSession(
            session, #"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"steps","arguments":{},"_meta":{"progressToken":9}}}"#)
        #expect(reply.headers[.contentType] == "text/event-stream")
        let received = messages(Data(reply.text.utf8))
        #expect(received.first?.objectValue?["params"]?.objectValue?["progressToken"] == 9)
        #expect(received.last?.objectValue?["id"] == 3)
    }
}
