/// Finds the client behind a `client_id`: one known from configuration, a Client ID Metadata
/// Document when the id is a URL and documents are accepted, else a registration in the store.
public struct ClientDirectory: Sendable {
    let store: any AuthorizationStore
    /// `nil` when Client ID Metadata Documents are not accepted.
    let documents: ClientMetadataDocumentFetcher?
    /// Clients known without registering, by id.
    let direct: [String: OAuthClient]

    public init(store: any AuthorizationStore, documents: ClientMetadataDocumentFetcher?, direct: [OAuthClient] = []) {
        self.store = store
        self.documents = documents
        self.direct = Dictionary(direct.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The client, or `invalid_client` saying why it is unknown.
    public func client(_ clientID: String) async throws(OAuthError) -> OAuthClient {
        guard !clientID.isEmpty, clientID.utf8.count <= 2048 else {
            throw OAuthError(.invalidClient, "client_id is missing or too long")
        }
        if let known = direct[clientID] { return known }
        if let documents, ClientIDMetadataDocument.looksLikeURL(clientID) {
            return try await documents.client(clientID)
        }
        let registered: RegisteredClient?
        do {
            registered = try await store.client(id: clientID)
        } catch {
            // The store is down or busy: the client may retry (503 with Retry-After), not a server bug.
            throw OAuthError(.temporarilyUnavailable, "the client registry cannot be read right now; try again in a few seconds")
        }
        guard let registered else {
            throw OAuthError(.invalidClient, "unknown client_id; register again (the registration may have been removed)")
        }
        return OAuthClient(
            id: registered.id, metadata: registered.metadata, secretHash: registered.secretHash, isMetadataDocument: false)
    }
}
