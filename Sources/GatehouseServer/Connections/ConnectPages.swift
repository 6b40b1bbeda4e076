import GatehouseCore
import GatehouseHub
import HTTPTypes
import Hummingbird

/// The HTML of the connect pages: sign in as the account a link is for, and the outcome of
/// connecting. No JavaScript; every value is escaped; the pages cannot be framed.
enum ConnectPages {
    /// Asks the person to sign in with a password as the account the link was made for.
    static func signIn(request: String, csrfToken: String, name: String, email: String = "", problem: String? = nil) -> String {
        let alert = problem.map { #"<p class="problem" role="alert">\#(HTML.escape($0))</p>"# } ?? ""
        return SignInPage.page(
            title: "Sign in to connect \(name)",
            body: """
                <h1>Sign in to connect \(HTML.escape(name))</h1>
                <p>Your assistant asked to connect <strong>\(HTML.escape(name))</strong> to your Gatehouse account. Sign in with that account; you will then sign in at \(HTML.escape(name)) itself.</p>
                \(alert)
                <form method="post" action="connect">
                  <input type="hidden" name="request" value="\(HTML.escape(request))">
                  <input type="hidden" name="csrf_token" value="\(HTML.escape(csrfToken))">
                  <label>Email <input type="email" name="email" value="\(HTML.escape(email))" autocomplete="username" required autofocus></label>
                  <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
                  <div class="actions"><button type="submit">Sign in and continue</button></div>
                </form>
                """)
    }

    /// Signed in: one more step, to the server.
    static func continueTo(_ name: String, url: String) -> String {
        SignInPage.page(
            title: "Continue to \(name)",
            body: """
                <h1>Continue to \(HTML.escape(name))</h1>
                <p>You are signed in to Gatehouse. Now sign in at \(HTML.escape(name)) and allow Gatehouse to use it for you.</p>
                <div class="actions"><a class="button" href="\(HTML.escape(url))">Continue to \(HTML.escape(name))</a></div>
                """)
    }

    /// The connection is made.
    static func connected(_ connection: UserConnection) -> String {
        let name = connection.name
        let next =
            switch connection.kind {
            case .mcpServer:
                "Go back to your assistant: its tools are in your tool list (as <code>\(HTML.escape(name))_…</code>), and the call that asked can be made again."
            case .account: "Go back to your assistant: your tools can use this account now, and the call that asked can be made again."
            }
        return SignInPage.page(
            title: "Connected \(name)",
            body: """
                <h1>Connected \(HTML.escape(name))</h1>
                <p>Gatehouse can now use \(HTML.escape(name)) for you. \(next)</p>
                <p class="note">You can close this window.</p>
                """)
    }

    /// Why connecting cannot go on.
    static func problem(_ message: String) -> String {
        SignInPage.page(
            title: "This connection cannot continue",
            body: """
                <h1>This connection cannot continue</h1>
                <p class="problem" role="alert">\(HTML.escape(message))</p>
                <p class="note">Go back to your assistant and ask it to connect again.</p>
                """)
    }

    static func response(_ html: String, status: HTTPResponse.Status, formTargets: [String] = []) -> Response {
        AuthorizationPages.page(html, status: status, formTargets: formTargets)
    }
}
