import NIOCore

/// Sent down the pipeline whenever bytes arrive from the client, before they are parsed, so
/// that ``ConnectionDeadlineHandler`` can time a request head from its first byte.
struct RequestBytesArrived: Sendable {}

/// The first handler of every connection: announces arriving bytes, then passes them on.
final class RequestBytesSignal: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireUserInboundEventTriggered(RequestBytesArrived())
        context.fireChannelRead(data)
    }
}
