import GatehouseAuth
import GatehouseHub
import Hummingbird

/// Provisions the caller as a hub user on their first authenticated request (and records
/// when they were last seen, at most once a minute), and carries the user in the context so
/// nothing later in the request resolves it again. Runs after authentication.
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
            // The request still runs: tools that need the store fail on their own with a clear error.
            context.logger.error("cannot provision the caller as a hub user", metadata: ["error": "\(error)"])
        }
        return try await next(request, context)
    }
}
