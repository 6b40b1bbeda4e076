import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseMCP
import Synchronization

/// The multi-tenant tools hub: every caller is a provisioned user who activates and
/// configures tools from the ``ToolCatalog`` for their own account.
///
/// As a ``ToolSource`` it gives each caller the tools they activated; ``managementTools``
/// (`list_available_tools`, `add_tool`, `remove_tool`, `list_my_tools`, `configure_tool`) are
/// the same for everyone and act on the caller's own account.
public final class Hub: ToolSource {
    public let store: any HubStore
    public let catalog: ToolCatalog
    public let secrets: SecretBox
    public let users: UserDirectory
    private let cacheLifetime: TimeInterval
    private let now: @Sendable () -> Date
    private let cache = Mutex<ToolCache>(ToolCache())

    /// Each user's tools as last loaded, and how many times each user's tools were invalidated:
    /// a load that began before an invalidation is not kept after it.
    private struct ToolCache {
        var entries: [Int64: (tools: ToolRegistry, loadedAt: Date)] = [:]
        var generations: [Int64: Int] = [:]
    }

    /// - Parameters:
    ///   - profiles: fetches a caller's email and name at provisioning when their token has none.
    ///   - cacheLifetime: how long a user's tools are served from memory; changes made through
    ///     this process show at once, changes made by another instance within this time.
    public init(
        store: any HubStore, catalog: ToolCatalog, secrets: SecretBox, oauthProvider: String, profiles: ProfileLookup? = nil,
        cacheLifetime: TimeInterval = 5, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.catalog = catalog
        self.secrets = secrets
        self.users = UserDirectory(store: store, oauthProvider: oauthProvider, profiles: profiles, now: now)
        self.cacheLifetime = cacheLifetime
        self.now = now
    }

    public func tools(for principal: Principal) async throws -> ToolRegistry {
        let userID = try await accountID(of: principal)
        let (cached, generation) = cache.withLock { ($0.entries[userID], $0.generations[userID] ?? 0) }
        if let cached, now().timeIntervalSince(cached.loadedAt) < cacheLifetime {
            return cached.tools
        }
        var registry = ToolRegistry()
        for active in try await store.activeTools(userID: userID) {
            guard let kind = catalog.kind(named: active.name) else { continue }  // a kind this build no longer offers
            // A configuration whose secrets cannot be opened (GATEHOUSE_SECRET_KEY changed) leaves
            // that tool out; the user's other tools still work, and configure_tool repairs it.
            guard let configuration = try? secrets.open(try Self.object(active.configuration)) else { continue }
            for tool in kind.makeTools(ToolActivation(userID: userID, configuration: configuration, store: store)) {
                registry.register(tool)
            }
        }
        let loaded = registry
        cache.withLock { cache in
            guard (cache.generations[userID] ?? 0) == generation else { return }
            cache.entries[userID] = (loaded, now())
        }
        return loaded
    }

    /// The hub user id of `principal`: the one the request already resolved (the server's
    /// provisioning middleware sets ``Principal/accountID``), else a lookup that provisions.
    func accountID(of principal: Principal) async throws -> Int64 {
        if let accountID = principal.accountID { return accountID }
        return try await users.user(for: principal).id
    }

    /// Forgets the cached tools of `userID` after a change (here, or on another instance).
    public func invalidate(userID: Int64) {
        cache.withLock { cache in
            cache.entries[userID] = nil
            cache.generations[userID, default: 0] += 1
        }
    }

    static func object(_ json: String) throws -> [String: JSONValue] {
        guard case .object(let object) = try JSONValue.parse(Array(json.utf8)) else { throw ToolError("stored configuration is not an object") }
        return object
    }
}
