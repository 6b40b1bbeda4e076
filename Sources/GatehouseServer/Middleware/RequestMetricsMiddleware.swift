import GatehouseCore
import Hummingbird

/// Counts every request and its duration by route pattern (`/mcp`, `/.well-known/…`,
/// `unmatched` for a 404), method and status: ``GatehouseMetrics/httpRequest(route:method:status:duration:)``.
/// The route is the router's pattern, never the raw path, so labels stay few.
public struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await observing(request, context, next: next) { status, elapsed in
            // No route matched: nil, or Hummingbird's "NotFound" placeholder (patterns start with /).
            let route = context.endpointPath.flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "unmatched"
            GatehouseMetrics.httpRequest(route: route, method: request.method.rawValue, status: status, duration: elapsed)
        }
    }
}
