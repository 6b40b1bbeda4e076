import Foundation
import GatehouseMCP
import NIOCore
import NIOEmbedded
import Testing

@testable import GatehouseServer

@Suite("Connection deadlines")
struct ConnectionDeadlinesTests {
    static let limits = ConnectionDeadlines.Limits(head: .seconds(30), body: .seconds(60), idle: .seconds(45), closing: .seconds(5))
    let start = ContinuousClock.now

    @Test func anIdleConnectionHasTheKeepAliveDeadline() {
        let deadlines = ConnectionDeadlines(limits: Self.limits, now: start)
        #expect(deadlines.deadline == start + .seconds(45))
        #expect(deadlines.expiry(at: start + .seconds(44)) == nil)
        #expect(deadlines.expiry(at: start + .seconds(45)) == .idle)
    }

    @Test func aHeadIsTimedFromItsFirstByteAndABodyFromItsHead() {
        var deadlines = ConnectionDeadlines(limits: Self.limits, now: start)
        deadlines.bytesArrived(at: start + .seconds(40))
        #expect(deadlines.phase == .readingHead)
        deadlines.bytesArrived(at: start + .seconds(60))  // more bytes do not extend it
        #expect(deadlines.expiry(at: start + .seconds(70)) == .head)
        deadlines.headReceived(at: start + .seconds(65))
        #expect(deadlines.deadline == start + .seconds(125))
        deadlines.bytesArrived(at: start + .seconds(120))  // a trickling body does not extend it either
        #expect(deadlines.expiry(at: start + .seconds(125)) == .body)
    }

    @Test func aRequestBeingHandledHasNoDeadlineThenTheConnectionIsIdleAgain() {
        var deadlines = ConnectionDeadlines(limits: Self.limits, now: start)
        deadlines.bytesArrived(at: start)
        deadlines.headReceived(at: start)
        deadlines.requestEnded(at: start)
        #expect(deadlines.phase == .handling)
        #expect(deadlines.deadline == nil)
        #expect(!deadlines.canCloseForShutdown)
        #expect(deadlines.responseEnded(at: start + .seconds(600), closeRequested: false) == .keepOpen)
        #expect(deadlines.phase == .idle)
        #expect(deadlines.deadline == start + .seconds(645))
        #expect(deadlines.canCloseForShutdown)
    }

    @Test func answeringBeforeTheBodyIsReadHalfClosesWithAShortGrace() {
        var deadlines = ConnectionDeadlines(limits: Self.limits, now: start)
        deadlines.headReceived(at: start)
        #expect(deadlines.responseEnded(at: start + .seconds(1), closeRequested: false) == .closeOutput)
        #expect(deadlines.phase == .closing)
        #expect(deadlines.expiry(at: start + .seconds(6)) == .closing)
    }

    @Test func connectionCloseClosesAfterTheResponse() {
        var deadlines = ConnectionDeadlines(limits: Self.limits, now: start)
        deadlines.headReceived(at: start)
        deadlines.requestEnded(at: start)
        #expect(deadlines.responseEnded(at: start, closeRequested: true) == .closeOutput)
    }

    @Test func aPipelinedRequestDoesNotCloseTheOneBeforeIt() {
        var deadlines = ConnectionDeadlines(limits: Self.limits, now: start)
        deadlines.headReceived(at: start)
        deadlines.requestEnded(at: start)
        deadlines.headReceived(at: start)  // the next request arrives while the first is handled
        #expect(deadlines.responseEnded(at: start, closeRequested: false) == .keepOpen)
        #expect(deadlines.phase == .readingBody)
    }
}

@Suite("Connection census")
struct ConnectionCensusTests {
    /// A connected channel, as the listener hands them over.
    private func connected() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return channel
    }

    @Test func theConnectionEvictableLongestMakesRoomAndBusyOnesNever() throws {
        let census = ConnectionCensus(capacity: 4)
        let busy = census.admit(try connected())
        let older = census.admit(try connected())
        older.set(evictable: true, census: census)
        let newer = census.admit(try connected())
        newer.set(evictable: true, census: census)
        #expect(census.count == 3)
        _ = census.admit(try connected())  // the fourth reaches the cap: the oldest idle one goes
        #expect(!older.channel.isActive)
        #expect(newer.channel.isActive && busy.channel.isActive)
        census.remove(older)
        newer.set(evictable: false, census: census)
        _ = census.admit(try connected())  // nothing evictable now: no one is closed
        #expect(busy.channel.isActive && newer.channel.isActive)
        #expect(census.count == 4)
    }
}

@Suite("Connection limits on a live server")
struct ConnectionLimitsTests {
    static let shortLimits = [
        "GATEHOUSE_IDLE_TIMEOUT": "0.6", "GATEHOUSE_REQUEST_HEAD_TIMEOUT": "0.8", "GATEHOUSE_REQUEST_BODY_TIMEOUT": "1",
    ]

    @Test func idleAndHalfSentConnectionsAreClosed() async throws {
        let server = try await LiveServer.start(env: Self.shortLimits)
        let idle = try await RawConnection.open(port: server.port)
        let slowHead = try await RawConnection.open(port: server.port)
        try await slowHead.send("POST /mcp HTTP/1.1\r\nHost: x\r\n")
        let slowBody = try await RawConnection.open(port: server.port)
        try await slowBody.send("POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
        let trickle = Task {
            for _ in 0..<20 {
                try? await Task.sleep(for: .milliseconds(100))
                try? await slowBody.send(" ")
                try? await slowHead.send("X")
            }
        }
        let idleClosed = try #require(await idle.closed(within: .seconds(5)))
        let headClosed = try #require(await slowHead.closed(within: .seconds(5)))
        let bodyClosed = try #require(await slowBody.closed(within: .seconds(5)))
        trickle.cancel()
        #expect(idleClosed < .seconds(2))
        #expect(headClosed < .seconds(2))
        #expect(bodyClosed < .seconds(2.5))
        #expect(try await server.health() == "HTTP/1.1 200 OK")
        _ = try await server.stop()
    }

    @Test func requestsTheParserRefusesGetAnExplainedAnswerAndAreClosed() async throws {
        let server = try await LiveServer.start(env: [:])
        let manyHeaders = try await RawConnection.open(port: server.port)
        let headers = (0..<2000).map { "X-Filler-\($0): y\r\n" }.joined()
        try await manyHeaders.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\(headers)\r\n")
        #expect(await manyHeaders.closed(within: .seconds(5)) != nil)
        #expect(manyHeaders.received.hasPrefix("HTTP/1.1 431"))
        #expect(manyHeaders.received.contains(#""error":"invalid_request""#))
        #expect(manyHeaders.received.contains("header fields are larger than the server accepts"))

        let garbage = try await RawConnection.open(port: server.port)
        try await garbage.send("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        #expect(await garbage.closed(within: .seconds(5)) != nil)
        #expect(garbage.received.hasPrefix("HTTP/1.1 400"))
        #expect(garbage.received.contains("Content-Length"))
        _ = try await server.stop()
    }

    @Test func aBodyTooLargeIsAnsweredAndTheConnectionClosedWithoutReadingTheRest() async throws {
        let server = try await LiveServer.start(env: ["GATEHOUSE_MAX_BODY_BYTES": "2048"])
        let upload = try await RawConnection.open(port: server.port)
        try await upload.send(
            "POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
                + "Content-Length: 50000000\r\n\r\n" + String(repeating: "x", count: 4000))
        #expect(await upload.closed(within: .seconds(5)) != nil)
        #expect(upload.received.hasPrefix("HTTP/1.1 413"))
        #expect(upload.received.lowercased().contains("connection: close"))
        _ = try await server.stop()
    }

    @Test func atTheCapNewcomersTakeThePlaceOfIdleConnections() async throws {
        let server = try await LiveServer.start(env: ["GATEHOUSE_MAX_CONNECTIONS": "20"])
        var held: [RawConnection] = []
        for _ in 0..<60 { held.append(try await RawConnection.open(port: server.port)) }
        // Idle connections (60 s keep-alive) fill the cap three times over; /healthz is answered
        // at once because each newcomer evicts the connection idle longest.
        let start = ContinuousClock.now
        #expect(try await server.health(within: .seconds(10)) == "HTTP/1.1 200 OK")
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(await held[0].closed(within: .seconds(1)) != nil)
        for connection in held { await connection.close() }
        _ = try await server.stop()
    }

    @Test func shutdownDoesNotWaitForAClientThatNeverFinishesItsRequest() async throws {
        let server = try await LiveServer.start(env: ["GATEHOUSE_SHUTDOWN_TIMEOUT": "1"])
        let stuck = try await RawConnection.open(port: server.port)
        try await stuck.send("POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
        let halfHead = try await RawConnection.open(port: server.port)
        try await halfHead.send("POST /mcp HTTP/1.1\r\nHost: x\r\n")
        try await Task.sleep(for: .milliseconds(200))
        let took = try await server.stop()
        #expect(took < .seconds(3))
        #expect(await stuck.closed(within: .seconds(1)) != nil)
        #expect(await halfHead.closed(within: .seconds(1)) != nil)
    }

    @Test func shutdownCancelsARequestStillBeingHandledAfterTheTimeout() async throws {
        let slow = MCPTool(name: "slow", description: "Takes a minute.", inputSchema: ["type": "object"]) { _, _ in
            try await Task.sleep(for: .seconds(60))
            return .text("done")
        }
        let server = try await LiveServer.start(env: ["GATEHOUSE_SHUTDOWN_TIMEOUT": "1"], extraTools: [slow])
        let call = try await RawConnection.open(port: server.port)
        let body = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#
        try await call.send(
            "POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
                + "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: slow\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        try await Task.sleep(for: .milliseconds(300))
        let took = try await server.stop()
        #expect(took >= .seconds(0.9))  // the request had its chance to finish
        #expect(took < .seconds(4))
        #expect(await call.closed(within: .seconds(1)) != nil)
    }
}
