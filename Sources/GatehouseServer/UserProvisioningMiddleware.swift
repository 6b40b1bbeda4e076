import GatehouseHub
import Hummingbird

/// Provisions the caller as a hub user on their first authenticated request (and records
/// when they were last seen, at most once a minute). Runs after authentication.
struct UserProvisioningMiddleware: RouterMiddleware {
    typealias Context = GatehouseRequestContext
    let users: UserDirectory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            _ = try await users.user(for: context.principal)
        } catch {
            // The request still runs: tools that need the store fail on their own with a clear error.
            context.logger.error("cannot provision the caller as a hub user", metadata: ["error": "\(error)"])
        }
        return try await next(request, context)
    }
}
