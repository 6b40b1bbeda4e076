/// How to sign in when a server needs it.
public struct LoginOptions: Sendable {
    /// Open the authorization URL with `xdg-open`/`open`; when false (or when that fails) it is printed.
    public var openBrowser = true
    /// A client id registered beforehand, used instead of registering.
    public var clientID: String?
    public var clientSecret: String?
    /// A Client ID Metadata Document URL to use as the client id where the server accepts them.
    public var clientMetadataURL: String?
    /// The loopback callback port; `nil` reuses the registered one, else picks a free port.
    public var callbackPort: Int?
    /// Scopes to ask for; `nil` asks for what the server's challenge or metadata names.
    public var scopes: [String]?
    /// How long to wait for the browser to come back.
    public var timeout: Duration = .seconds(300)
    /// Shows the authorization URL in place of the browser (an app's own web view, a test);
    /// `nil` uses the browser or prints the URL.
    public var presentAuthorizationURL: (@Sendable (String) -> Void)?

    public init() {}
}
