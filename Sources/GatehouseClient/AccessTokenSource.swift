/// Where an ``MCPClient`` gets a token it does not sign in for itself: a hub's stored connection
/// for one of its users. The token is sent as it is; when the server refuses it (401), the
/// source is asked once for another.
public protocol AccessTokenSource: Sendable {
    /// The token to send; `nil` sends none.
    func accessToken() async throws(ClientError) -> String?
    /// The server refused `rejected` with 401: a replacement to retry with, or `nil` to give up
    /// (the 401 is then the answer).
    func replacement(for rejected: String) async throws(ClientError) -> String?
}
