/// Asks the upstream provider whether the person behind a login is still signed in there.
/// The token endpoint consults it when a refresh rotates a family that came from an upstream
/// login.
public protocol LoginSessionCheck: Sendable {
    func recheck(sessionID: String) async -> LoginSessionVerdict
}

/// What the upstream provider said about a login.
public enum LoginSessionVerdict: Sendable, Equatable {
    /// Still signed in (the provider's tokens were refreshed, or are still accepted).
    case signedIn
    /// The provider refused: the person signed out, was removed, or the grant was revoked.
    case signedOut(reason: String)
    /// The provider could not be asked; the refresh goes on and the failure is logged.
    case unreachable(reason: String)
}
