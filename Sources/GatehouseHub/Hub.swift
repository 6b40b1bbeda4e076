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
    private let cache: Mutex<ToolCache>
    /// Whether other instances write the store too (it is a ``HubChangeFeed``).
    private let isShared: Bool

    /// Each user's tools as last loaded, and how many times each user's tools (or everyone's)
    /// were invalidated: a load that began before an invalidation is not kept after it.
    private struct ToolCache {
        var entries: [Int64: (tools: ToolRegistry, loadedAt: Date)] = [:]
        var generations: [Int64: Int] = [:]
        var epoch = 0
        /// Whether copies may be kept: always for a store only this process writes; for a
        /// shared store (a ``HubChangeFeed``) once its feed first listens, or a change made on
        /// another instance before then could go unnoticed for the whole cache lifetime.
        var keepsCopies: Bool

        func stamp(_ userID: Int64) -> Stamp { Stamp(epoch: epoch, generation: generations[userID] ?? 0) }
    }

    private struct Stamp: Equatable {
        let epoch: Int
        let generation: Int
    }

    /// - Parameters:
    ///   - profiles: fetches a caller's email and name at provisioning when their token has none.
    ///   - cacheLifetime: how long a user's tools are served from memory; changes made through
    ///     this process show at once. On a store shared with other instances (one that is a
    ///     ``HubChangeFeed``), copies are kept once ``apply(_:)`` hears that its feed listens,
    ///     and a change made elsewhere drops them when its notice arrives.
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
        self.isShared = store is any HubChangeFeed
        self.cache = Mutex(ToolCache(keepsCopies: !isShared))
    }

    public func tools(for principal: Principal) async throws -> ToolRegistry {
        try await registry(of: try await accountID(of: principal)).tools
    }

    /// On a shared store, a name missing from this instance's copy may be a tool the user added
    /// through another instance a moment ago, whose notice has not arrived yet: the store is
    /// asked once more, so a call right after its `add_tool` finds the tool wherever it lands.
    public func tool(named name: String, for principal: Principal) async throws -> MCPTool? {
        let userID = try await accountID(of: principal)
        let (tools, fromCopy) = try await registry(of: userID)
        if let tool = tools.tool(named: name) { return tool }
        guard fromCopy, isShared else { return nil }
        return try await load(userID).tool(named: name)
    }

    /// `userID`'s tools: this instance's copy while it is fresh, else loaded from the store.
    private func registry(of userID: Int64) async throws -> (tools: ToolRegistry, fromCopy: Bool) {
        let (cached, stamp) = cache.withLock { ($0.keepsCopies ? $0.entries[userID] : nil, $0.stamp(userID)) }
        if let cached, now().timeIntervalSince(cached.loadedAt) < cacheLifetime {
            return (cached.tools, true)
        }
        let loaded = try await load(userID)
        cache.withLock { cache in
            guard cache.keepsCopies, cache.stamp(userID) == stamp else { return }
            cache.entries[userID] = (loaded, now())
        }
        return (loaded, false)
    }

    private func load(_ userID: Int64) async throws -> ToolRegistry {
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
        return registry
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

    /// Follows a shared store's change feed: a change drops that user's copy, and each time
    /// the feed (again) listens every copy is dropped, since a notice may have been missed
    /// before. While the feed is not listening copies are still served, up to the cache
    /// lifetime, so a database outage does not also stop the callers this instance knows.
    public func apply(_ notice: ChangeNotice<Int64>) {
        switch notice {
        case .changed(let userID): invalidate(userID: userID)
        case .listening:
            cache.withLock { cache in
                cache.entries = [:]
                cache.epoch += 1
                cache.keepsCopies = true
            }
        }
    }

    static func object(_ json: String) throws -> [String: JSONValue] {
        guard case .object(let object) = try JSONValue.parse(Array(json.utf8)) else { throw ToolError("stored configuration is not an object") }
        return object
    }
}
