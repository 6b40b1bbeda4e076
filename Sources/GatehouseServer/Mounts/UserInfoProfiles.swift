import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress
import GatehouseHub

/// A caller's profile from an OpenID Connect userinfo endpoint, asked with their own token.
struct UserInfoProfiles: Sendable {
    let url: String
    var fetcher = EgressClient(timeout: .seconds(3), maxBytes: 64 * 1024)

    func lookup(_ bearerToken: String) async -> UserProfile? {
        guard let response = try? await fetcher.get(url, headers: [("Authorization", "Bearer \(bearerToken)")]), response.status == 200,
            let claims = (try? JSONValue.parse(response.body))?.objectValue, let subject = claims["sub"]?.stringValue
        else { return nil }
        return UserProfile(subject: subject, email: claims["email"]?.stringValue, name: StandardClaims.name(claims))
    }
}
