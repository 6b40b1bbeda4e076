import GatehouseCore
import GatehouseMCP
import Hummingbird

/// Refuses browser requests from origins the server does not trust.
///
/// Streamable HTTP transport (2025-11-25 and 2026-07-28, "Security Warning"): servers
/// MUST validate the `Origin` header on all incoming connections to prevent DNS
/// rebinding attacks; if it is present and invalid they MUST respond 403 Forbidden,
/// whose body MAY be a JSON-RPC error without an `id`.
struct OriginCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: OriginPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin]
        guard policy.allows(origin: origin) else {
            context.logger.notice("refused request from a disallowed Origin", metadata: ["origin": "\(origin ?? "")"])
            let error = JSONRPCError.invalidRequest(
                "Origin \(origin ?? "") is not allowed; add it to GATEHOUSE_ALLOWED_ORIGINS if this browser app is trusted")
            return Response(mcp: .failure(.forbidden, error))
        }
        return try await next(request, context)
    }
}
