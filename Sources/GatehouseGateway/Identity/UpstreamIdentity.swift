import AsyncHTTPClient
import Foundation
import GatehouseCore

/// What the gateway tells an upstream about the caller. Never the caller's own token (MCP
/// security best practices, "Token Passthrough": a server MUST NOT pass through the token it
/// received; the upstream would accept a token not issued for it).
public enum UpstreamIdentity: Sendable, Equatable, CustomStringConvertible {
    /// Nothing: the upstream serves everyone the gateway lets through alike.
    case none
    /// A short-lived JWT that Gatehouse signs for this upstream: `aud` the upstream, `sub` and
    /// `scope` the caller's, `act` the gateway; verifiable at Gatehouse's JWKS.
    case mintedToken(audience: String?, lifetime: Duration)
    /// A token the provider issues for this upstream in exchange for the caller's (RFC 8693
    /// token exchange): the caller's token goes to its own issuer only.
    case tokenExchange(TokenExchangeSettings)
    /// A fixed credential of the gateway's own (`Authorization: Bearer …` or another header).
    case staticCredential(header: String, value: String)
    /// `X-Gatehouse-*` headers naming the caller; only toward loopback, where nobody else can
    /// forge them.
    case identityHeaders

    public var description: String {
        switch self {
        case .none: "none"
        case .mintedToken(let audience, let lifetime): "jwt(aud: \(audience ?? "the upstream URL"), lifetime: \(lifetime))"
        case .tokenExchange(let settings): "exchange(at: \(settings.tokenEndpoint))"
        case .staticCredential(let header, _): "static(\(header))"
        case .identityHeaders: "headers"
        }
    }
}

/// Signs the tokens of ``UpstreamIdentity/mintedToken(audience:lifetime:)``.
public protocol UpstreamTokenMinter: Sendable {
    /// The issuer upstreams see in `iss`, whose JWKS verifies the tokens.
    var issuer: String { get }
    /// A signed JWT carrying `claims`.
    func sign(claims: [String: JSONValue]) async throws -> String
}

/// The request headers an upstream gets for one caller.
struct IdentityHeaders: Sendable {
    let identity: UpstreamIdentity
    let audience: String
    let minter: (any UpstreamTokenMinter)?
    let cache = MintedTokenCache()
    let exchanger: TokenExchanger?

    init(identity: UpstreamIdentity, audience: String, minter: (any UpstreamTokenMinter)?) {
        self.identity = identity
        self.audience = audience
        self.minter = minter
        if case .tokenExchange(let settings) = identity {
            exchanger = TokenExchanger(settings: settings, defaultResource: audience)
        } else {
            exchanger = nil
        }
    }

    static let subject = "X-Gatehouse-Subject"
    static let issuer = "X-Gatehouse-Issuer"
    static let email = "X-Gatehouse-Email"
    static let scopes = "X-Gatehouse-Scopes"
    static let organization = "X-Gatehouse-Organization"
    static let client = "X-Gatehouse-Client"

    /// Adds the headers for `caller` to `request`.
    func add(to request: inout HTTPClientRequest, for caller: Caller) async throws(UpstreamFailure) {
        for (header, value) in try await headers(for: caller) { request.headers.add(name: header, value: value) }
    }

    /// The headers for `caller`; its token is used only by a token exchange, and only with the provider.
    func headers(for caller: Caller) async throws(UpstreamFailure) -> [(String, String)] {
        let principal = caller.principal
        switch identity {
        case .none:
            return []
        case .staticCredential(let header, let value):
            return [(header, header.lowercased() == "authorization" ? "Bearer \(value)" : value)]
        case .identityHeaders:
            var headers = [(Self.subject, principal.subject)]
            if let issuer = principal.issuer { headers.append((Self.issuer, issuer)) }
            if let email = principal.email { headers.append((Self.email, email)) }
            if !principal.scopes.isEmpty { headers.append((Self.scopes, principal.scopes.sorted().joined(separator: " "))) }
            if let organization = principal.organizationID { headers.append((Self.organization, organization)) }
            if let client = principal.clientID { headers.append((Self.client, client)) }
            return headers
        case .mintedToken(let audience, let lifetime):
            guard let minter else { throw .unavailable("the gateway has no signing key to mint upstream tokens") }
            let token = try await cache.token(for: principal, audience: audience ?? self.audience, lifetime: lifetime, minter: minter)
            return [("Authorization", "Bearer \(token)")]
        case .tokenExchange:
            guard let exchanger, let callerToken = caller.token else {
                throw .identityRefused("the caller presented no token to exchange (the gateway has no authentication configured)")
            }
            return [("Authorization", "Bearer \(try await exchanger.exchange(callerToken))")]
        }
    }
}
