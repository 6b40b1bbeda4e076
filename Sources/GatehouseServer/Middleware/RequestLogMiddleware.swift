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
        return try await observing(request, context, next: next) { status, elapsed in
            context.logger.debug(
                "request",
                metadata: [
                    "http.method": "\(request.method)", "http.path": "\(request.uri.path)", "http.status": "\(status)",
                    "duration_us": "\(elapsed.inNanoseconds / 1000)",
                ])
        }
    }
}
