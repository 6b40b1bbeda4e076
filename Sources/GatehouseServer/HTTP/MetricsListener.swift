import CoreMetrics
import Foundation
import GatehouseCore
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// The Prometheus listener (`--metrics-port`): `GET /metrics` in the text exposition format,
/// on an address of its own so the metrics never share the public listener.
public enum MetricsListener {
    /// Where every metric of this process is collected once ``bootstrap()`` ran.
    public static let registry = PrometheusCollectorRegistry()

    /// Makes swift-metrics record into ``registry`` (once per process, as the server starts);
    /// durations get buckets from 100 µs, since most requests take well under a millisecond.
    public static func bootstrap() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        MetricsSystem.bootstrap(factory)
    }

    /// The listener at `host:port`; `sample` records gauges read at scrape time (active sessions).
    static func application(
        host: String, port: Int, sample: @escaping @Sendable () -> Void, logger: Logger
    ) -> some ApplicationProtocol & Service {
        let router = Router()
        router.get("/metrics") { _, _ in
            sample()
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16 * 1024)
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                logger.info("metrics at http://\(host):\(channel.localAddress?.port ?? port)/metrics")
            },
            logger: logger)
    }
}
