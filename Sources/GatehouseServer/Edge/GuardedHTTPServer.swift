import Foundation
import GatehouseCore
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// The listener every Gatehouse application runs on: Hummingbird's HTTP/1.1 with the
/// connection guards (``RequestBytesSignal``, ``ConnectionDeadlineHandler``,
/// ``ParseErrorResponder``) and a cap on open connections. At the cap a newcomer takes the
/// place of the connection idle longest (``ConnectionCensus``); only when every connection is
/// busy do newcomers wait in the listen backlog.
enum GuardedHTTPServer {
    /// A connection refused to its client gets answered within this after the server's answer.
    static let closingGrace: Duration = .seconds(5)

    /// Builds the HTTP/1.1 child channels with the guards for `settings`, inside TLS when
    /// `tls` is set (``ServerTLS``).
    static func builder(_ settings: ConnectionSettings, tls: TLSSettings? = nil, logger: Logger) -> HTTPServerBuilder {
        let channel = guardedChannel(settings, logger: logger)
        guard let tls else { return HTTPServerBuilder { responder in channel(responder) } }
        return ServerTLS.builder(tls, guarded: channel, connections: settings)
    }

    /// Makes one guarded HTTP/1.1 child channel per connection; the connections share one census.
    private static func guardedChannel(
        _ settings: ConnectionSettings, logger: Logger
    ) -> @Sendable (@escaping HTTPChannelHandler.Responder) -> GuardedHTTP1Channel {
        let limits = ConnectionDeadlines.Limits(
            head: settings.requestHeadTimeout, body: settings.requestBodyTimeout, idle: settings.idleTimeout,
            closing: min(closingGrace, settings.idleTimeout))
        let census = ConnectionCensus(capacity: maxConnections(settings))
        return { responder in
            GuardedHTTP1Channel(
                inner: HTTP1Channel(
                    responder: responder,
                    configuration: .init(
                        additionalChannelHandlers: [
                            ConnectionDeadlineHandler(limits: limits, census: census, logger: logger), ParseErrorResponder(),
                        ])))
        }
    }

    /// The application configuration for `address`, with the connection cap.
    static func configuration(
        host: String, port: Int, settings: ConnectionSettings, serverName: String = "gatehouse"
    ) -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: .hostname(host, port: port), serverName: serverName,
            availableConnectionsDelegate: MaximumAvailableConnections(maxConnections(settings)))
    }

    static func maxConnections(_ settings: ConnectionSettings) -> Int {
        settings.maxConnections ?? defaultMaxConnections()
    }

    /// The descriptor limit less a reserve for the store, outbound requests and logs, at most
    /// 10,000: past the limit `accept` fails and nothing, not even `/healthz`, is answered.
    static func defaultMaxConnections() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1000 }
        let soft = Int(clamping: limit.rlim_cur)  // RLIM_INFINITY clamps to Int.max
        return max(64, min(10_000, soft - 256))
    }
}

extension HTTPServerBuilder {
    /// Hummingbird's HTTP/1.1 with Gatehouse's connection guards: request-head, body and
    /// keep-alive deadlines, newcomers replacing idle connections at the cap, and parser
    /// refusals answered with a reason. For an application that embeds Gatehouse, with
    /// `ApplicationConfiguration.gatehouse(host:port:connections:)` for the cap itself.
    public static func gatehouse(_ settings: ConnectionSettings, logger: Logger) -> HTTPServerBuilder {
        GuardedHTTPServer.builder(settings, logger: logger)
    }
}

extension ApplicationConfiguration {
    /// Listens on `host`:`port` with Gatehouse's connection cap (use with
    /// `HTTPServerBuilder.gatehouse(_:logger:)`).
    public static func gatehouse(host: String, port: Int, connections: ConnectionSettings, serverName: String = "gatehouse") -> Self {
        GuardedHTTPServer.configuration(host: host, port: port, settings: connections, serverName: serverName)
    }
}

/// Hummingbird's HTTP/1.1 child channel with ``RequestBytesSignal`` in front of the parser.
struct GuardedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let inner: HTTP1Channel

    var responder: HTTPChannelHandler.Responder { inner.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RequestBytesSignal(), position: .first)
        }.flatMap { inner.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
