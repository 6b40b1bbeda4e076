import Foundation
import GatehouseCore
import GatehouseEgress
import Logging

/// The authorization server's metadata, fetched from the provider and cached.
///
/// Gatehouse serves copies at its own `/.well-known/oauth-authorization-server` and
/// `/.well-known/openid-configuration` for clients that look on the resource's host (as the
/// seed guides' servers do). The OAuth copy drops OpenID-only fields.
public actor ProviderMetadata {
    /// A metadata document as served: the JSON bytes.
    public struct Document: Sendable {
        public var json: Data
        public var fields: [String: JSONValue]
    }

    public nonisolated let issuer: String
    private let fetcher: EgressClient
    private let ttl: Duration
    private let logger: Logger
    private var cache: [Kind: (Document, ContinuousClock.Instant)] = [:]

    public enum Kind: Sendable, Hashable {
        case oauth
        case openID
    }

    public init(issuer: String, fetcher: EgressClient = EgressClient(), ttl: Duration = .seconds(300), logger: Logger) {
        self.issuer = issuer
        self.fetcher = fetcher
        self.ttl = ttl
        self.logger = logger
    }

    /// RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.
    public nonisolated var oauthMetadataURL: String { Self.insertWellKnown("oauth-authorization-server", into: issuer) }
    /// OpenID Connect Discovery 1.0 §4: the well-known segment is appended to the issuer, any
    /// terminating `/` removed first.
    public nonisolated var openIDConfigurationURL: String {
        (issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer) + "/.well-known/openid-configuration"
    }

    /// The document of `kind`, from cache while fresh; the last good copy when the provider fails.
    public func document(_ kind: Kind) async throws(ProviderProblem) -> Document {
        if let (document, fetched) = cache[kind], ContinuousClock.now - fetched < ttl { return document }
        do {
            let document = try await fetch(kind)
            cache[kind] = (document, ContinuousClock.now)
            return document
        } catch {
            if let (document, _) = cache[kind] {
                logger.warning("provider metadata fetch failed; serving the last good copy", metadata: ["error": "\(error)"])
                return document
            }
            throw error
        }
    }

    /// Fetches the OAuth metadata (falling back to OpenID configuration) and checks its issuer.
    ///
    /// RFC 8414 §3.3: the `issuer` in the document MUST be identical to the issuer the
    /// metadata was retrieved for, or the document must not be used.
    public func validate() async throws(ProviderProblem) -> Document {
        do {
            return try await document(.oauth)
        } catch let oauthProblem {
            guard let document = try? await document(.openID) else { throw oauthProblem }
            return document
        }
    }

    private func fetch(_ kind: Kind) async throws(ProviderProblem) -> Document {
        let url = kind == .oauth ? oauthMetadataURL : openIDConfigurationURL
        let response: EgressClient.Response
        do {
            response = try await GatehouseMetrics.timedFetch("metadata") { try await fetcher.get(url) }
        } catch {
            throw ProviderProblem("\(error)")
        }
        guard response.status == 200 else {
            throw ProviderProblem(
                "\(url) answered HTTP \(response.status); check that the issuer or AuthKit domain is right "
                    + "(for AuthKit: the domain shown under Authentication → AuthKit, e.g. https://your-project-12345.authkit.app)")
        }
        guard case .object(var fields)? = try? JSONValue.parse(response.body) else {
            throw ProviderProblem("\(url) did not return a JSON object")
        }
        guard fields["issuer"]?.stringValue == issuer else {
            throw ProviderProblem(
                "\(url) names issuer \(fields["issuer"]?.stringValue ?? "none"), not \(issuer); configure the exact issuer")
        }
        if kind == .oauth {
            for field in Self.openIDOnlyFields { fields[field] = nil }
        }
        let json = (try? JSONEncoder.sortedCompact.encode(JSONValue.object(fields))) ?? response.body
        return Document(json: json, fields: fields)
    }

    /// Fields OpenID Connect Discovery defines that RFC 8414 does not.
    static let openIDOnlyFields = [
        "userinfo_endpoint", "subject_types_supported", "id_token_signing_alg_values_supported",
        "id_token_encryption_alg_values_supported", "id_token_encryption_enc_values_supported",
        "userinfo_signing_alg_values_supported", "userinfo_encryption_alg_values_supported",
        "userinfo_encryption_enc_values_supported", "request_object_signing_alg_values_supported",
        "request_object_encryption_alg_values_supported", "request_object_encryption_enc_values_supported",
        "acr_values_supported", "display_values_supported", "claim_types_supported", "claims_supported",
        "claims_locales_supported", "claims_parameter_supported", "request_parameter_supported",
        "request_uri_parameter_supported", "require_request_uri_registration", "end_session_endpoint",
        "check_session_iframe", "frontchannel_logout_supported", "frontchannel_logout_session_supported",
        "backchannel_logout_supported", "backchannel_logout_session_supported",
    ]

    static func insertWellKnown(_ name: String, into issuer: String) -> String {
        guard let components = URLComponents(string: issuer), let scheme = components.scheme, let host = components.host else {
            return issuer + "/.well-known/" + name
        }
        let port = components.port.map { ":\($0)" } ?? ""
        let path = components.percentEncodedPath == "/" ? "" : components.percentEncodedPath
        return "\(scheme)://\(host)\(port)/.well-known/\(name)\(path)"
    }
}

/// Why Gatehouse cannot start (the provider, the store, the key file), and what to fix.
public struct StartupProblem: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Why the token provider's metadata or keys cannot be used right now, and what to check; at
/// start-up it becomes a ``StartupProblem``, while serving it is logged and answered as 502/503.
public struct ProviderProblem: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension JSONEncoder {
    static let sortedCompact: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
