import GatehouseCore
import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes

/// Applies ``ConnectionDeadlines`` to a connection: closes it when the client is too slow
/// sending a head or a body, or idle too long; half-closes it after a response to a request
/// whose body was never read to its end; closes idle or half-sent connections at once when a
/// graceful shutdown starts; and tells the ``ConnectionCensus`` when the connection may be
/// evicted for a newcomer (idle, reading a head, closing).
///
/// It sits after HTTP parsing, so it sees request and response parts; ``RequestBytesSignal``
/// at the front tells it when raw bytes arrive. One timer at a time is scheduled, for the
/// earliest deadline, and re-checks the state when it fires, so the per-request cost is a few
/// clock reads.
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionDeadlines.Limits
    private let census: ConnectionCensus
    private let logger: Logger
    private var deadlines: ConnectionDeadlines?
    private var slot: ConnectionCensus.Slot?
    private var evictable = false
    private var timer: Scheduled<Void>?
    private var timerDeadline: ContinuousClock.Instant?
    /// The response being written asked for `Connection: close`.
    private var responseClosesConnection = false

    init(limits: ConnectionDeadlines.Limits, census: ConnectionCensus, logger: Logger) {
        self.limits = limits
        self.census = census
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: deadlines?.headReceived(at: .now)
        case .body: break
        case .end: deadlines?.requestEnded(at: .now)
        }
        context.fireChannelRead(data)
        arm(context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is RequestBytesArrived:
            deadlines?.bytesArrived(at: .now)
            arm(context)
        case is ChannelShouldQuiesceEvent:
            // Graceful shutdown: a connection with no request being handled goes now; one being
            // handled finishes its response (bounded by the shutdown timeout).
            if deadlines?.canCloseForShutdown ?? true { context.close(promise: nil) }
            context.fireUserInboundEventTriggered(event)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            responseClosesConnection = response.headerFields[.connection]?.lowercased().contains("close") ?? false
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            let after = deadlines?.responseEnded(at: .now, closeRequested: responseClosesConnection) ?? .keepOpen
            responseClosesConnection = false
            if after == .closeOutput {
                // Half-close: the client still reads the answer, then sees the end; a full close
                // with unread request bytes would reset the connection and could lose the answer.
                context.writeAndFlush(data, promise: promise)
                context.close(mode: .output, promise: nil)
            } else {
                context.write(data, promise: promise)
            }
            arm(context)
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .output {
            deadlines?.outputClosed(at: .now)
            arm(context)
        }
        context.close(mode: mode, promise: promise)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard deadlines == nil else { return }
        deadlines = ConnectionDeadlines(limits: limits, now: .now)
        slot = census.admit(context.channel)
        arm(context)
    }

    private func stop() {
        timer?.cancel()
        timer = nil
        if let slot { census.remove(slot) }
        slot = nil
    }

    /// Makes sure a timer will fire no later than the current deadline, and tells the census
    /// whether the connection may be evicted.
    private func arm(_ context: ChannelHandlerContext) {
        let phase = deadlines?.phase
        let nowEvictable = phase == .idle || phase == .readingHead || phase == .closing
        if nowEvictable != evictable {
            evictable = nowEvictable
            slot?.set(evictable: nowEvictable, census: census)
        }
        guard let deadline = deadlines?.deadline else { return }
        if let timerDeadline, timerDeadline <= deadline { return }  // an earlier timer re-checks then
        timer?.cancel()
        timerDeadline = deadline
        let now = ContinuousClock.Instant.now
        let delay = now < deadline ? now.duration(to: deadline) : .zero
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .nanoseconds(delay.inNanoseconds)) {
            let (handler, context) = loopBound.value
            handler.timerFired(context)
        }
    }

    private func timerFired(_ context: ChannelHandlerContext) {
        timer = nil
        timerDeadline = nil
        if let expiry = deadlines?.expiry(at: .now) {
            logger.debug("closing a connection that ran into a limit", metadata: ["limit": "\(expiry)"])
            deadlines = nil
            context.close(promise: nil)
            return
        }
        arm(context)
    }
}
