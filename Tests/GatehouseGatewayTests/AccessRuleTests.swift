import GatehouseCore
import Testing

@testable import GatehouseGateway

@Suite struct AccessRuleTests {
    let alice = Principal(subject: "alice", email: "alice@example.com", scopes: ["docs:read"], organizationID: "org_1")

    @Test func scopesUsersAndOrganizationsDecide() {
        #expect(AccessRule().decide(for: alice) == .allowed)
        #expect(AccessRule(requiredScopes: ["docs:read"]).decide(for: alice) == .allowed)
        #expect(AccessRule(requiredScopes: ["docs:admin"]).decide(for: alice) == .needsScopes(["docs:admin", "docs:read"]))
        #expect(AccessRule(users: ["alice@example.com"]).decide(for: alice) == .allowed)
        #expect(AccessRule(users: ["bob"]).decide(for: alice) == .refused)
        #expect(AccessRule(organizations: ["org_1"]).decide(for: alice) == .allowed)
        #expect(AccessRule(organizations: ["org_2"]).decide(for: alice) == .refused)
        // No scope makes up for not being let in.
        #expect(AccessRule(requiredScopes: ["docs:admin"], users: ["bob"]).decide(for: alice) == .refused)
    }

    @Test func aToolRuleAddsToItsUpstreamRule() {
        let spec = UpstreamSpec(
            name: "docs", transport: .streamableHTTP(url: "http://127.0.0.1:1/mcp"), access: AccessRule(requiredScopes: ["docs:read"]),
            toolAccess: ["delete": AccessRule(requiredScopes: ["docs:admin"]), "audit": AccessRule(users: ["carol"])])
        #expect(spec.decide(tool: "search", for: alice) == .allowed)
        #expect(spec.decide(tool: "delete", for: alice) == .needsScopes(["docs:admin", "docs:read"]))
        #expect(spec.decide(tool: "audit", for: alice) == .refused)
        #expect(spec.decide(tool: nil, for: Principal(subject: "x")) == .needsScopes(["docs:read"]))
    }
}
