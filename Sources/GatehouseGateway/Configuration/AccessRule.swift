import GatehouseCore

/// Who may see and call something behind the gateway: scopes the token must carry, and
/// optionally the only users (subjects or emails) and organizations let in.
///
/// The same rule decides `tools/list` and `tools/call`, so a caller never sees a tool they
/// cannot call.
public struct AccessRule: Sendable, Equatable {
    public var requiredScopes: Set<String>
    /// When non-empty, only these users: a `sub` or an email.
    public var users: Set<String>
    /// When non-empty, only members of these organizations (the token's organization id).
    public var organizations: Set<String>

    public init(requiredScopes: Set<String> = [], users: Set<String> = [], organizations: Set<String> = []) {
        self.requiredScopes = requiredScopes
        self.users = users
        self.organizations = organizations
    }

    /// What the rule says about one caller.
    public enum Decision: Sendable, Equatable {
        case allowed
        /// The caller may get in with more scopes: every scope needed (held and missing), for the
        /// `insufficient_scope` step-up challenge.
        case needsScopes([String])
        /// The caller is not among the users or organizations let in; no scope changes that.
        case refused
    }

    public func decide(for principal: Principal) -> Decision {
        if !users.isEmpty {
            let identities = [principal.subject] + (principal.email.map { [$0] } ?? [])
            guard identities.contains(where: users.contains) else { return .refused }
        }
        if !organizations.isEmpty {
            guard let organization = principal.organizationID, organizations.contains(organization) else { return .refused }
        }
        guard requiredScopes.isSubset(of: principal.scopes) else {
            return .needsScopes(requiredScopes.union(principal.scopes).sorted())
        }
        return .allowed
    }
}

extension UpstreamSpec {
    /// The decision for `tool` (the upstream's own name): the upstream's rule, then the tool's.
    func decide(tool: String?, for principal: Principal) -> AccessRule.Decision {
        let upstream = access.decide(for: principal)
        guard let tool, let rule = toolAccess[tool] else { return upstream }
        let own = rule.decide(for: principal)
        switch (upstream, own) {
        case (.refused, _), (_, .refused): return .refused
        case (.needsScopes(let a), .needsScopes(let b)): return .needsScopes(Set(a).union(b).sorted())
        case (.needsScopes(let needed), .allowed), (.allowed, .needsScopes(let needed)):
            return .needsScopes(Set(needed).union(access.requiredScopes).union(rule.requiredScopes).sorted())
        case (.allowed, .allowed): return .allowed
        }
    }
}
