/// A client the authorization server knows, however it became known: registered with DCR
/// (RFC 7591) or described by the Client ID Metadata Document at its `client_id` URL.
public struct OAuthClient: Sendable, Equatable {
    public var id: String
    public var metadata: ClientMetadata
    /// SHA-256 of the secret of a confidential client; `nil` for public clients.
    public var secretHash: String?
    /// True when `id` is a Client ID Metadata Document URL.
    public var isMetadataDocument: Bool

    public init(id: String, metadata: ClientMetadata, secretHash: String?, isMetadataDocument: Bool) {
        self.id = id
        self.metadata = metadata
        self.secretHash = secretHash
        self.isMetadataDocument = isMetadataDocument
    }

    /// The name to show on the consent page: the client's own, else its id.
    public var displayName: String { metadata.clientName ?? id }
}
