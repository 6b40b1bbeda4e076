import Foundation
import GatehouseEgress
import NIOCore
import NIOPosix
import Testing

/// A loopback listener that accepts connections and never answers, or answers `reply` verbatim.
struct SilentServer {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    private final class Answer: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let reply: String?
        init(reply: String?) { self.reply = reply }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard let reply else { return }
            context.writeAndFlush(NIOAny(ByteBuffer(string: reply)), promise: nil)
        }
    }

    static func start(reply: String? = nil) async throws -> SilentServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Answer(reply: reply)) } }
            .bind(host: "127.0.0.1", port: 0).get()
        return SilentServer(channel: channel)
    }

    func stop() async { try? await channel.close() }
}

@Suite("Egress client")
struct EgressClientTests {
    @Test func aTimeoutBelowASecondIsKeptNotTruncated() async throws {
        let server = try await SilentServer.start()
        let client = EgressClient(timeout: .milliseconds(400))
        let start = ContinuousClock.now
        await #expect(throws: EgressClient.Failure.self) { _ = try await client.get("http://127.0.0.1:\(server.port)/") }
        let took = ContinuousClock.now - start
        #expect(took >= .milliseconds(350), "a 400 ms timeout became \(took)")
        // Truncated to whole seconds it would fail at once; far above, it would be another timeout (the
        // default is 5 s). The margin is for a loaded machine, where the deadline fires late.
        #expect(took < .seconds(4), "a 400 ms timeout took \(took)")
        await server.stop()
    }

    @Test func aRefusedConnectionFailsAtOnceWithAReadableReason() async throws {
        let server = try await SilentServer.start()
        let port = server.port
        await server.stop()
        let start = ContinuousClock.now
        do {
            _ = try await EgressClient(timeout: .seconds(5)).get("http://127.0.0.1:\(port)/")
            Issue.record("a closed port answered")
        } catch {
            #expect(error.description == "cannot reach http://127.0.0.1:\(port)/: connection refused")
        }
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    @Test func publicHTTPSRefusesPlainHTTPAndPrivateAddressesBeforeConnecting() async throws {
        let client = EgressClient(policy: .publicHTTPS)
        for (url, reason) in [
            ("http://example.com/mcp", "that scheme or host is not allowed here"),
            ("https://127.0.0.1:9/mcp", "resolves to a private or loopback address"),
            ("https://10.1.2.3/.well-known/oauth-protected-resource", "resolves to a private or loopback address"),
            ("https://[::1]:9/", "resolves to a private or loopback address"),
        ] {
            do {
                _ = try await client.send(url)
                Issue.record("\(url) was fetched")
            } catch {
                #expect(error.description.contains(reason), "\(url): \(error.description)")
            }
        }
    }

    @Test func redirectsAreNotFollowedAndBodiesAreCapped() async throws {
        let redirect = try await SilentServer.start(
            reply: "HTTP/1.1 302 Found\r\nLocation: http://example.com/\r\nContent-Length: 0\r\n\r\n")
        let response = try await EgressClient().get("http://127.0.0.1:\(redirect.port)/")
        #expect(response.status == 302)
        await redirect.stop()
        let big = try await SilentServer.start(
            reply: "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + String(repeating: "x", count: 5000))
        await #expect(throws: EgressClient.Failure.self) { _ = try await EgressClient(maxBytes: 1000).get("http://127.0.0.1:\(big.port)/") }
        await big.stop()
    }

    @Test func serversFetchOnlyHTTPSOrLoopbackHTTP() async {
        for url in ["http://example.com/x", "ftp://127.0.0.1/x", "file:///etc/passwd", "not a url"] {
            do {
                _ = try await EgressClient().get(url)
                Issue.record("\(url) was fetched")
            } catch {
                guard case .refusedURL = error else { Issue.record("\(url): \(error)"); continue }
            }
        }
    }
}
