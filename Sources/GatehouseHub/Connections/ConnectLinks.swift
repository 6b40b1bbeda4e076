import Foundation
import GatehouseAuth
import GatehouseCore

/// The links that send a user's browser to sign in to one of their connections. The request
/// (whose connection, until when) is sealed into the link, so any instance can open it and
/// nothing is stored until the browser arrives; the page that opens it must still check that
/// the person signed in to the browser is that user (``ConnectLinks/Request/userID``).
public struct ConnectLinks: Sendable {
    /// What a link asks for.
    public struct Request: Sendable, Codable, Equatable {
        public var userID: Int64
        public var name: String
        /// Scopes to ask for besides the connection's own (a tool needs more of an account).
        public var scopes: [String]?
        public var expiresAt: Date
    }

    let secrets: SecretBox
    /// The page that opens links, e.g. `https://hub.example.com/connect`.
    public let pageURL: String
    let lifetime: TimeInterval
    let now: @Sendable () -> Date

    public init(secrets: SecretBox, pageURL: String, lifetime: TimeInterval = 1800, now: @escaping @Sendable () -> Date = { Date() }) {
        self.secrets = secrets
        self.pageURL = pageURL
        self.lifetime = lifetime
        self.now = now
    }

    /// A link for `userID` to connect `name`, asking for `scopes` too when given.
    public func link(userID: Int64, name: String, scopes: [String]? = nil) throws -> String {
        let request = Request(userID: userID, name: name, scopes: scopes, expiresAt: now().addingTimeInterval(lifetime))
        let sealed = Base64URL.encode(try secrets.seal(try JSONEncoder().encode(request), what: "connect link"))
        return pageURL + "?" + URLEncoding.query([("request", sealed)])
    }

    /// The request a link's `request` parameter carries, unless it was not made here or expired.
    public func open(_ sealed: String) throws -> Request {
        guard let data = Base64URL.decode(sealed), let plain = try? secrets.openSealed(data, what: "connect link"),
            let request = try? JSONDecoder().decode(Request.self, from: plain)
        else { throw ConnectionError("this connect link is not one this hub made; ask your assistant for a new one") }
        guard request.expiresAt > now() else { throw ConnectionError("this connect link has expired; ask your assistant for a new one") }
        return request
    }
}
