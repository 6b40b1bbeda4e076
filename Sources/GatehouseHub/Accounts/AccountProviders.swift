import Foundation
import GatehouseClient
import GatehouseCore
import GatehouseEgress
import Synchronization

/// The OAuth providers the operator set up for users' accounts (``AccountProvider``), with
/// their authorization servers: given, or discovered once from the issuer.
public final class AccountProviders: Sendable {
    public let all: [AccountProvider]
    let http: EgressClient
    private let discovered = Mutex<[String: AuthorizationServerInfo]>([:])

    /// - Parameter http: reaches the providers' discovery and token endpoints (the operator's
    ///   choice, so private addresses are allowed).
    public init(_ providers: [AccountProvider], http: EgressClient = EgressClient(timeout: .seconds(30), maxBytes: 1024 * 1024)) {
        self.all = providers
        self.http = http
    }

    public func provider(named name: String) -> AccountProvider? { all.first { $0.name == name } }

    /// Where users sign in to `provider`.
    func authorizationServer(of provider: AccountProvider) async throws -> AuthorizationServerInfo {
        switch provider.endpoints {
        case .fixed(let authorize, let token):
            return .endpoints(authorize: authorize, token: token)
        case .discovered(let issuer):
            if let known = discovered.withLock({ $0[issuer] }) { return known }
            let found = try await ServerAuthorization.providerMetadata(issuer: issuer, http: http)
            discovered.withLock { $0[issuer] = found }
            return found
        }
    }
}
