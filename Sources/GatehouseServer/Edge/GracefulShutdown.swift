import Logging
import ServiceLifecycle
import UnixSignals

/// How a Gatehouse process stops: on SIGTERM or SIGINT, connections not in the middle of a
/// request close at once (``ConnectionDeadlineHandler``); requests being handled may finish for
/// at most `timeout`; then what is left is cancelled, and a process whose cancellation hangs
/// is ended after five more seconds. One client can no longer keep the process alive.
public enum GracefulShutdown {
    /// The service group that runs `app` until one of `signals` (or
    /// `ServiceGroup.triggerGracefulShutdown()`), with the deadlines above.
    public static func serviceGroup(
        running app: some Service, timeout: Duration, signals: [UnixSignal] = [.sigterm, .sigint], logger: Logger
    ) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: signals, logger: logger)
        configuration.maximumGracefulShutdownDuration = timeout
        configuration.maximumCancellationDuration = .seconds(5)
        return ServiceGroup(configuration: configuration)
    }
}
