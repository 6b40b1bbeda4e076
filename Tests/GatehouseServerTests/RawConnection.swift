import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A raw TCP connection to a server under test, to send partial or malformed requests and
/// watch when the server closes its side. Nothing blocks a thread: NIO reads in the background.
final class RawConnection: Sendable {
    private final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let received = Mutex(Data())
        let closed: EventLoopPromise<Void>

        init(closed: EventLoopPromise<Void>) { self.closed = closed }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received.withLock { $0.append(contentsOf: buffer.readableBytesView) }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case ChannelEvent.inputClosed = event { closed.succeed() }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) { closed.succeed() }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { closed.succeed() }
    }

    private let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func open(port: Int) async throws -> RawConnection {
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let collector = Collector(closed: loop.makePromise())
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) } }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    /// Whatever the server sent so far.
    var received: String { String(decoding: collector.received.withLock { $0 }, as: UTF8.self) }

    /// How long until the server closed its side, or `nil` if it is still open after `limit`.
    func closed(within limit: Duration) async -> Duration? {
        let start = ContinuousClock.now
        let closedFuture = collector.closed.futureResult
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await closedFuture.get()) != nil }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first ? ContinuousClock.now - start : nil
        }
    }

    func close() async {
        try? await channel.close()
    }
}
