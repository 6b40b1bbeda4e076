import GatehouseCore
import Hummingbird
import Logging

/// Logs each request at debug level: method, path, status and duration.
///
/// Hummingbird's own request logger prints the whole URI, query string included, and a
/// client that puts `?access_token=…` in the URL (which Gatehouse refuses) would get its
/// token written to the log. This one logs the path only and never a header.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard context.logger.logLevel <= .debug else { return try await next(request, context) }
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, context, status: response.status.code, since: start)
            return response
        } catch {
            log(request, context, status: (error as? any HTTPResponseError)?.status.code ?? 500, since: start)
            throw error
        }
    }

    private func log(_ request: Request, _ context: Context, status: Int, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        context.logger.debug(
            "request",
            metadata: [
                "http.method": "\(request.method)", "http.path": "\(request.uri.path)", "http.status": "\(status)",
                "duration_us": "\(elapsed.inNanoseconds / 1000)",
            ])
    }
}
