import Foundation

/// What presenting a refresh token decides: the rule of refresh-token rotation as a value, so
/// every store applies the same rule and only has to hold the token exclusively meanwhile.
///
/// OAuth 2.1 §4.3.1 and RFC 9700 §4.14.2: a refresh token is used once; its successor replaces
/// it. A rotated token presented again means it leaked, and the whole family is revoked, so the
/// thief's copy dies with the client's. Clients legitimately present one token twice in quick
/// succession (two tabs, a retry after a lost response), so within `grace` of the rotation the
/// same successor is handed out again, sealed in the store until then: concurrent presentations
/// always end with one live successor, never a fork that reuse detection cannot see.
public struct RefreshRotation: Sendable {
    /// The client presenting the token.
    public var clientID: String
    /// The successor to store if the token is rotated now (its family is filled in here).
    public var successor: RefreshTokenRecord
    /// The successor token itself, sealed, kept so it can be handed out again within `grace`.
    public var sealedSuccessor: Data
    public var grace: TimeInterval
    /// The time, read by the store once it holds the token (``decide(_:at:)``), not when the
    /// request began: a rotation that waited for the lock must not eat into the grace a
    /// client's retry of it has.
    public var clock: @Sendable () -> Date

    public init(
        clientID: String, successor: RefreshTokenRecord, sealedSuccessor: Data, grace: TimeInterval, clock: @escaping @Sendable () -> Date
    ) {
        self.clientID = clientID
        self.successor = successor
        self.sealedSuccessor = sealedSuccessor
        self.grace = grace
        self.clock = clock
    }

    /// The decision for the presented token, as the store holds it (`nil`: unknown), at `now`
    /// (read from ``clock`` while holding it; the store stamps a rotation or revocation with it).
    public func decide(_ token: PresentedRefreshToken?, at now: Date) -> Decision {
        guard let token else { return .refuse(.unknown) }
        let family = token.family
        guard family.grant.clientID == clientID else { return .refuse(.wrongClient) }
        if family.revokedAt != nil { return .refuse(.revoked) }
        if token.record.expiresAt <= now || family.expiresAt <= now { return .refuse(.expired) }
        guard let rotatedAt = token.record.rotatedAt else {
            var successor = self.successor
            successor.familyID = family.id
            successor.expiresAt = min(successor.expiresAt, family.expiresAt)
            return .rotate(successor: successor, sealedSuccessor: sealedSuccessor, family: family)
        }
        guard now.timeIntervalSince(rotatedAt) <= grace else { return .revokeFamily(family) }
        // Within the grace: the successor already issued, once more, if it is still the live one.
        guard let sealed = token.sealedSuccessor, token.successorIsCurrent else { return .refuse(.alreadyExchanged) }
        return .resend(sealedSuccessor: sealed, family: family)
    }

    /// What the store does, and what the token endpoint answers.
    public enum Decision: Sendable, Equatable {
        /// Mark the token rotated now, keep `sealedSuccessor` with it, store `successor`.
        case rotate(successor: RefreshTokenRecord, sealedSuccessor: Data, family: RefreshFamily)
        /// Change nothing; hand out the successor issued moments ago again.
        case resend(sealedSuccessor: Data, family: RefreshFamily)
        /// Revoke the family: a rotated token came back after the grace (reuse, RFC 9700 §4.14.2).
        case revokeFamily(RefreshFamily)
        /// Change nothing and refuse.
        case refuse(Refusal)
    }

    /// Why a refresh token is refused without changing anything.
    public enum Refusal: Sendable, Equatable {
        case unknown
        case wrongClient
        case revoked
        case expired
        /// Presented again within the grace after its successor was itself rotated.
        case alreadyExchanged
    }
}

/// A refresh token as the store holds it, with what rotation needs to know.
public struct PresentedRefreshToken: Sendable, Equatable {
    public var record: RefreshTokenRecord
    public var family: RefreshFamily
    /// The successor issued when the token was rotated, sealed; `nil` before rotation and once
    /// the grace has passed.
    public var sealedSuccessor: Data?
    /// True while the successor has not been rotated itself.
    public var successorIsCurrent: Bool

    public init(record: RefreshTokenRecord, family: RefreshFamily, sealedSuccessor: Data?, successorIsCurrent: Bool) {
        self.record = record
        self.family = family
        self.sealedSuccessor = sealedSuccessor
        self.successorIsCurrent = successorIsCurrent
    }
}
