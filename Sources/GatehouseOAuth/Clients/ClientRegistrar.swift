import Foundation
import GatehouseCore
import Logging

/// Dynamic Client Registration (RFC 7591), persisted so registrations survive restarts.
public struct ClientRegistrar: Sendable {
    let store: any AuthorizationStore
    let limiter: RegistrationLimiter
    let logger: Logger
    let now: @Sendable () -> Date

    /// The outcome of a registration request.
    public enum Outcome: Sendable {
        /// HTTP 201 with the client information response (RFC 7591 §3.2.1).
        case registered(JSONValue)
        /// HTTP 400 with the error (RFC 7591 §3.2.2).
        case refused(OAuthError)
        /// HTTP 429: too many registrations; retry after the given seconds.
        case throttled(retryAfter: Int)
    }

    /// - Parameters:
    ///   - perAddressPerMinute: registrations one address (IPv6: one /64) may make per minute.
    ///   - overallPerMinute: the ceiling for all addresses together.
    ///   - rateCounter: where the counts are kept: the store's, for a budget shared by instances.
    public init(
        store: any AuthorizationStore, perAddressPerMinute: Int = 20, overallPerMinute: Int = 1_200,
        rateCounter: any RateCounter = LocalRateCounter(), logger: Logger = Logger(label: "gatehouse.oauth"),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.limiter = RegistrationLimiter(
            perAddressPerMinute: perAddressPerMinute, overallPerMinute: overallPerMinute, counter: rateCounter, now: now)
        self.logger = logger
        self.now = now
    }

    /// Registers the client described by `body`, coming from `remoteAddress`.
    public func register(_ body: JSONValue, from remoteAddress: String) async throws -> Outcome {
        if case .throttled(let retryAfter, let firstRefusal) = try await limiter.admit(remoteAddress) {
            if firstRefusal {
                logger.notice(
                    "client registrations throttled for this address for the rest of the minute",
                    metadata: ["event": "registration_throttled", "address": "\(remoteAddress)"])
            }
            GatehouseMetrics.rateLimited("registration")
            return .throttled(retryAfter: retryAfter)
        }
        let metadata: ClientMetadata
        do {
            metadata = try ClientMetadata(registration: body)
        } catch {
            return .refused(error)
        }
        let clientID = SecretToken.generate(prefix: "ghc_")
        let secret = metadata.authMethod == .none ? nil : SecretToken.generate(prefix: "ghs_")
        let issuedAt = now()
        try await store.insertClient(
            RegisteredClient(id: clientID, secretHash: secret.map(SecretToken.hash), metadata: metadata, registeredAt: issuedAt))
        AuditLog.record(
            .clientRegistered,
            [
                "client_id": .string(clientID), "client_name": .audit(metadata.clientName.map { String($0.prefix(100)) }),
                "redirect_uris": .array(metadata.redirectURIs.map { .string(String($0.text.prefix(200))) }),
                "confidential": .bool(secret != nil), "address": .string(remoteAddress),
            ])
        guard case .object(var response) = metadata.document else { return .registered(metadata.document) }
        response["client_id"] = .string(clientID)
        response["client_id_issued_at"] = .int(Int(issuedAt.timeIntervalSince1970))
        if let secret {
            response["client_secret"] = .string(secret)
            response["client_secret_expires_at"] = 0  // RFC 7591 §3.2.1: 0 means it does not expire
        }
        return .registered(.object(response))
    }
}
