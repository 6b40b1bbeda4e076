import GatehouseCore

/// OpenID Connect standard claims (Core §5.1) read the same way everywhere: ID tokens,
/// userinfo answers and OAuth 2.0 profile endpoints.
public enum StandardClaims {
    /// `name`, else `given_name` and `family_name` joined; `nil` when none is there.
    public static func name(_ claims: [String: JSONValue]) -> String? {
        if let name = claims["name"]?.stringValue, !name.isEmpty { return name }
        let parts = [claims["given_name"]?.stringValue, claims["family_name"]?.stringValue].compactMap { $0 }.filter { !$0.isEmpty }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }
}
