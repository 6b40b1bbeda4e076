import Foundation
import GatehouseOAuth
import Logging
import ServiceLifecycle

/// Deletes expired authorization codes and refresh tokens every `interval`, so the store does
/// not grow without bound; stops with the server.
struct StorePurgeService: Service, CustomStringConvertible {
    let server: AuthorizationServer
    let interval: Duration
    let logger: Logger

    /// What ServiceLifecycle logs: the name only, never the server's settings.
    var description: String { "StorePurgeService" }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                do {
                    try await server.purgeExpired()
                } catch {
                    logger.warning("cannot purge expired codes and tokens: \(error)")
                }
            }
        }
    }
}
