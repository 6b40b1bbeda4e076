import Foundation
import GatehouseAuth
import GatehouseClient
import GatehouseCore

/// Seals what a connection keeps (its login with tokens and client registration, and a pending
/// sign-in with its PKCE verifier) with the server key, as text for the store.
struct ConnectionVault: Sendable {
    let secrets: SecretBox

    func seal(_ login: StoredLogin) throws -> String { try seal(login, what: "connection login") }
    func seal(_ pending: PendingSignIn) throws -> String { try seal(pending, what: "pending connection sign-in") }

    func openLogin(_ sealed: String) throws -> StoredLogin { try open(sealed, what: "connection login") }
    func openAuthorization(_ sealed: String) throws -> PendingSignIn { try open(sealed, what: "pending connection sign-in") }

    private func seal<T: Encodable>(_ value: T, what: String) throws -> String {
        Base64URL.encode(try secrets.seal(try JSONEncoder().encode(value), what: what))
    }

    private func open<T: Decodable>(_ sealed: String, what: String) throws -> T {
        guard let data = Base64URL.decode(sealed) else { throw SecretBoxError.corrupt(what) }
        return try JSONDecoder().decode(T.self, from: try secrets.openSealed(data, what: what))
    }
}
