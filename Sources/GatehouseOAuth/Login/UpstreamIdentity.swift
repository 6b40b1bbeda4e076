import Foundation

/// Who an upstream identity provider says signed in: stable by (``issuer``, ``subject``),
/// with the profile shown in the hub.
public struct UpstreamIdentity: Sendable, Equatable {
    /// The provider's identity namespace: its issuer URL (or API host, for WorkOS and OAuth 2.0).
    public var issuer: String
    /// The person's stable id at the provider (`sub`, GitHub's numeric `id`, WorkOS's user id).
    public var subject: String
    public var email: String?
    public var name: String?
    /// The organization the person signed in through (WorkOS `organization_id`).
    public var organizationID: String?

    public init(issuer: String, subject: String, email: String?, name: String?, organizationID: String? = nil) {
        self.issuer = issuer
        self.subject = subject
        self.email = email
        self.name = name
        self.organizationID = organizationID
    }
}

/// The outcome of provisioning an upstream identity as a local user.
public enum UpstreamProvisioning: Sendable, Equatable {
    /// The user linked to the identity: created now, or found and its profile brought up to date.
    case user(LocalUser)
    /// The identity is new and its email belongs to another user (signed up with a password or
    /// another provider); the accounts are never linked by email alone.
    case emailTaken(String)
}
