import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress

/// Fetches, validates and caches Client ID Metadata Documents.
///
/// - SSRF: the host must resolve to public addresses only, unless private ones are allowed
///   (tests, intranets). The check happens before the fetch; a DNS answer that changes in
///   between (rebinding) is not caught, which is why redirects are never followed and the
///   response is small and must be a valid document.
/// - Bounded: 5 s timeout, 64 KiB (the draft suggests 5 KiB, but documents of real clients
///   such as claude.ai are larger), no redirects (§4: the response MUST be a 200).
/// - Cached for `ttl` (documents change rarely; a bad fetch is never cached).
public actor ClientMetadataDocumentFetcher {
    private let fetcher: EgressClient
    private let allowPrivateAddresses: Bool
    private let ttl: TimeInterval
    private let now: @Sendable () -> Date
    private var cache: [String: (client: OAuthClient, fetchedAt: Date)] = [:]
    private static let capacity = 1000

    public init(
        fetcher: EgressClient = EgressClient(timeout: .seconds(5), maxBytes: 64 * 1024), allowPrivateAddresses: Bool,
        ttl: TimeInterval = 300, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.fetcher = fetcher
        self.allowPrivateAddresses = allowPrivateAddresses
        self.ttl = ttl
        self.now = now
    }

    /// The client described at `clientID`.
    public func client(_ clientID: String) async throws(OAuthError) -> OAuthClient {
        if let cached = cache[clientID], now().timeIntervalSince(cached.fetchedAt) < ttl { return cached.client }
        let url = try ClientIDMetadataDocument.validateURL(clientID, allowLoopbackHTTP: allowPrivateAddresses)
        try await checkAddress(url.host ?? "")
        let response: EgressClient.Response
        do {
            response = try await GatehouseMetrics.timedFetch("client_metadata") { try await fetcher.get(clientID) }
        } catch {
            throw OAuthError(.invalidClient, "cannot fetch the client metadata document: \(error)")
        }
        guard response.status == 200 else {
            throw OAuthError(.invalidClient, "the client metadata document URL answered HTTP \(response.status), not 200")
        }
        guard let document = try? JSONValue.parse(response.body) else {
            throw OAuthError(.invalidClient, "the client metadata document is not valid JSON")
        }
        let metadata = try ClientIDMetadataDocument.metadata(from: document, clientID: clientID)
        let client = OAuthClient(id: clientID, metadata: metadata, secretHash: nil, isMetadataDocument: true)
        if cache.count >= Self.capacity { cache.removeAll(keepingCapacity: true) }
        cache[clientID] = (client, now())
        return client
    }

    private func checkAddress(_ host: String) async throws(OAuthError) {
        guard !allowPrivateAddresses, let refusal = await AddressPolicy.refusal(forHost: host) else { return }
        throw OAuthError(.invalidClient, "the client_id host \(refusal)")
    }
}
