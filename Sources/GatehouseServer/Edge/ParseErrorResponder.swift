import Foundation
import GatehouseCore
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request the HTTP parser refuses (too many or too large header fields, a request
/// line past the limit, bad syntax) with a status and a JSON body that says what was wrong,
/// then half-closes the connection. Hummingbird would answer an empty 400.
final class ParseErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Requests read whose response has not ended: an error then cannot get an answer of its own.
    private var openRequests = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { openRequests += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { openRequests = max(0, openRequests - 1) }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard openRequests == 0 else {
            context.close(promise: nil)
            return
        }
        let (status, description) = Self.answer(parserError)
        var body = JSONWriter()
        body.value(["error": "invalid_request", "error_description": .string(description)])
        let head = HTTPResponse(
            status: status,
            headerFields: [.contentType: "application/json", .contentLength: "\(body.bytes.count)", .connection: "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body.bytes))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(mode: .output, promise: nil)
    }

    static func answer(_ error: HTTPParserError) -> (HTTPResponse.Status, String) {
        switch error {
        case .headerOverflow:
            return (
                .requestHeaderFieldsTooLarge,
                "the request line and header fields are larger than the server accepts (80 KiB, 1000 fields); send less"
            )
        case .invalidURL:
            return (.badRequest, "the request target is not a valid URL path")
        case .invalidMethod:
            return (.badRequest, "the request method is not valid HTTP")
        case .invalidVersion:
            return (.badRequest, "the HTTP version is not supported; use HTTP/1.1")
        case .invalidContentLength, .unexpectedContentLength:
            return (.badRequest, "the Content-Length header is invalid")
        case .invalidChunkSize:
            return (.badRequest, "the chunked body is malformed")
        default:
            return (.badRequest, "the request is not valid HTTP/1.1 (\(error.debugDescription))")
        }
    }
}
