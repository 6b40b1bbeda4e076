import GatehouseAuth
import GatehouseHub
import Hummingbird

/// Provisions the caller as a hub user on their first authenticated request (and records
/// when they were last seen, at most once a minute), and carries the user in the context so
/// nothing later in the request resolves it again; 503 with `Retry-After` when the store cannot
/// be reached. Runs after authentication.
struct UserProvisioningMiddleware<Context: GatehouseContext>: RouterMiddleware {
    let users: UserDirectory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        do {
            var token: String?
            if case .token(let presented) = BearerCredentials(headers: request.headers, query: nil) { token = presented }
            let user = try await users.user(for: context.principal, bearerToken: token)
            context.gatehouse.hubUser = user
            context.gatehouse.principal.accountID = user.id
        } catch {
            // The store is down (a database outage): every hub request needs it, so the client is
            // told to come back rather than served half a hub.
            context.logger.error("cannot provision the caller as a hub user", metadata: ["error": "\(String(reflecting: error))"])
            var response = JSONResponse.make(
                ["jsonrpc": "2.0", "id": .null, "error": ["code": -32603, "message": "the hub's store cannot be reached; try again in a few seconds"]],
                status: .serviceUnavailable)
            response.headers[.retryAfter] = "5"
            return response
        }
        return try await next(request, context)
    }
}
