/// Who a caller is, as their identity provider describes them: fetched once when an access
/// token does not say (AuthKit's tokens carry no email), so the hub shows names and emails
/// whatever the provider.
public struct UserProfile: Sendable, Equatable {
    public var subject: String
    public var email: String?
    public var name: String?

    public init(subject: String, email: String?, name: String?) {
        self.subject = subject
        self.email = email
        self.name = name
    }
}

/// Fetches the profile of the caller holding `bearerToken` (their provider's userinfo); `nil`
/// when it cannot be had. Called at provisioning only, never on the hot path.
public typealias ProfileLookup = @Sendable (_ bearerToken: String) async -> UserProfile?
