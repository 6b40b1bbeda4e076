import Foundation
import GatehouseCore
import GatehouseHub
import HTTPTypes
import Synchronization
import Testing

@testable import GatehouseMCP

/// What a session's client sends back while a request streams: cancellations, and answers to
/// requests the server sent it.
@Suite("Client exchange on session streams")
struct ClientExchangeTests {
    /// A service whose one tool asks the client a question and returns the answer, or waits
    /// until cancelled.
    final class AskingService: MCPService {
        let cancelled = Mutex(false)

        func initializeResult(version: ProtocolVersion) -> any JSONRPCResult {
            ServiceResults.initialize(version: version, capabilities: ["tools": [:]], serverInfo: MCPServerInfo(name: "t", version: "1"))
        }

        func mayMessageClient(while request: JSONRPCRequest) -> Bool { true }

        func handle(_ request: JSONRPCRequest, in environment: MCPRequestEnvironment) async -> JSONRPCResponse {
            let serverInfo = MCPServerInfo(name: "t", version: "1")
            if request.params["name"] == "wait" {
                environment.client?.notify(["jsonrpc": "2.0", "method": "notifications/message", "params": ["level": "info", "data": "waiting"]])
                do {
                    try await Task.sleep(for: .seconds(30))
                } catch {
                    cancelled.withLock { $0 = true }
                }
                return JSONRPCResponse(id: request.id, result: ServiceResults.forwarded(["content": []], version: environment.protocolVersion, serverInfo: serverInfo))
            }
            guard let client = environment.client, client.carriesRequests else {
                return JSONRPCResponse(id: request.id, error: .invalidRequest("no channel"))
            }
            do throws(ClientRequestFailure) {
                let answer = try await client.request("elicitation/create", params: ["message": "name?"], timeout: .seconds(5))
                return JSONRPCResponse(id: request.id, result: ServiceResults.forwarded(answer, version: environment.protocolVersion, serverInfo: serverInfo))
            } catch {
                return JSONRPCResponse(id: request.id, error: .invalidRequest("\(error)"))
            }
        }
    }

    let service = AskingService()
    var endpoint: StreamableHTTPEndpoint { StreamableHTTPEndpoint(service: service, sessions: sessions) }
    let sessions = SessionStore(idleTimeout: .seconds(60), capacity: 10)

    func post(_ endpoint: StreamableHTTPEndpoint, session: String?, _ body: String) async -> MCPHTTPResponse {
        var headers: HTTPFields = [.contentType: "application/json", .accept: "application/json, text/event-stream"]
        if let session { headers[.mcpSessionID] = session }
        return await endpoint.respond(to: MCPHTTPRequest(method: .post, headerFields: headers, body: Data(body.utf8)), logger: EndpointHarness.logger)
    }

    /// The JSON-RPC message of one SSE frame.
    static func message(in frame: Data) -> JSONValue? {
        let text = String(decoding: frame, as: UTF8.self)
        guard let data = text.components(separatedBy: "\n").first(where: { $0.hasPrefix("data: ") }) else { return nil }
        return try? JSONValue.parse(Array(data.dropFirst(6).utf8))
    }

    func openSession(_ endpoint: StreamableHTTPEndpoint) async -> String {
        let response = await post(
            endpoint, session: nil,
            #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{}},"clientInfo":{"name":"t","version":"1"}}}"#)
        return response.headerFields[.mcpSessionID] ?? ""
    }

    @Test func aRequestToTheClientIsAnsweredByItsNextPost() async throws {
        let endpoint = self.endpoint
        let session = await openSession(endpoint)
        let response = await post(endpoint, session: session, #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ask"}}"#)
        guard case .events(let events) = response.body else { Issue.record("not streamed"); return }
        var iterator = events.makeAsyncIterator()
        let first = try #require(await iterator.next())
        let question = try #require(Self.message(in: first))
        #expect(question.objectValue?["method"] == "elicitation/create")
        let id = try #require(question.objectValue?["id"])
        // Another session cannot answer it.
        let other = await openSession(endpoint)
        var writer = JSONWriter()
        writer.value(["jsonrpc": "2.0", "id": id, "result": ["action": "accept", "content": ["name": "Ada"]]])
        let answer = String(decoding: writer.bytes, as: UTF8.self)
        #expect(await post(endpoint, session: other, answer).status == .accepted)
        #expect(await post(endpoint, session: session, answer).status == .accepted)
        let rest = String(decoding: try #require(await iterator.next()), as: UTF8.self)
        #expect(rest.contains(#""name":"Ada""#))
        #expect(rest.contains(#""id":1"#))
    }

    @Test func notificationsCancelledStopsTheRequest() async throws {
        let endpoint = self.endpoint
        let session = await openSession(endpoint)
        let response = await post(endpoint, session: session, #"{"jsonrpc":"2.0","id":"w1","method":"tools/call","params":{"name":"wait"}}"#)
        guard case .events = response.body else { Issue.record("not streamed"); return }
        #expect(await post(endpoint, session: session, #"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"w1"}}"#).status == .accepted)
        let deadline = ContinuousClock.now + .seconds(5)
        while !service.cancelled.withLock({ $0 }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(service.cancelled.withLock { $0 })
    }
}
