import Foundation

/// What presenting an authorization code decides, as a value every store applies the same way
/// while holding the code exclusively.
///
/// RFC 6749 §4.1.2: a code is used once, within its lifetime. A second presentation means it
/// leaked; the tokens the first one issued are revoked (the family it was linked to).
public struct CodeUse: Sendable {
    /// The refresh-token family the redemption creates, linked to the code so a replay finds it.
    public var familyID: String
    public var now: Date

    public init(familyID: String, now: Date) {
        self.familyID = familyID
        self.now = now
    }

    /// The decision for the presented code, as the store holds it (`nil`: unknown).
    public func decide(_ code: PresentedCode?) -> Decision {
        guard let code else { return .unknown }
        if code.usedAt != nil { return .replayed(familyID: code.familyID) }
        if code.record.expiresAt <= now { return .expired }
        return .redeem(code.record)
    }

    /// What the store does, and what the token endpoint answers.
    public enum Decision: Sendable, Equatable {
        /// Mark the code used now and link it to ``CodeUse/familyID``.
        case redeem(AuthorizationCodeRecord)
        /// Change nothing here; the token endpoint revokes `familyID`, the tokens of the first use.
        case replayed(familyID: String?)
        case expired
        case unknown
    }
}

/// An authorization code as the store holds it.
public struct PresentedCode: Sendable, Equatable {
    public var record: AuthorizationCodeRecord
    /// When it was redeemed, if it was.
    public var usedAt: Date?
    /// The refresh-token family its redemption created.
    public var familyID: String?

    public init(record: AuthorizationCodeRecord, usedAt: Date?, familyID: String?) {
        self.record = record
        self.usedAt = usedAt
        self.familyID = familyID
    }
}
