import Foundation
import GatehouseCore
import GatehouseLogin
import GatehouseOAuth

/// The HTML of the sign-in and consent page, and of the page that explains a refused
/// authorization request. No JavaScript; every value from a client is escaped.
enum SignInPage {
    /// The hidden fields every consent form carries: the sealed request and the CSRF token.
    struct Form: Sendable {
        var requestID: String
        var csrfToken: String

        var hiddenFields: String {
            """
            <input type="hidden" name="request_id" value="\(HTML.escape(requestID))">
              <input type="hidden" name="csrf_token" value="\(HTML.escape(csrfToken))">
            """
        }
    }

    /// The form that signs the user in with a password and approves (or denies) `request`.
    static func consent(
        _ request: AuthorizationRequest, form: Form, email: String = "", problem: String? = nil, noUsersYet: Bool = false
    ) -> String {
        var alert = problem.map { #"<p class="problem" role="alert">\#(HTML.escape($0))</p>"# } ?? ""
        if noUsersYet {
            alert += #"<p class="problem" role="alert">No accounts exist yet. Create one on the server with <code>gatehouse idp add-user you@example.com</code>, then sign in here.</p>"#
        }
        return page(
            title: "Sign in to allow \(request.client.displayName)",
            body: """
                \(summary(request))
                \(alert)
                <form method="post" action="authorize">
                  \(form.hiddenFields)
                  <label>Email <input type="email" name="email" value="\(HTML.escape(email))" autocomplete="username" required autofocus></label>
                  <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
                  <div class="actions">
                    <button type="submit" name="decision" value="approve">Sign in and allow</button>
                    <button type="submit" name="decision" value="deny" formnovalidate class="secondary">Deny</button>
                  </div>
                </form>
                """)
    }

    /// The consent asked before sending the person to the identity provider (MCP security best
    /// practices, "Confused Deputy Problem": the provider's consent covers this server, not the
    /// client, so this server asks about the client itself).
    static func upstreamConsent(_ request: AuthorizationRequest, form: Form, provider: String) -> String {
        page(
            title: "Allow \(request.client.displayName)?",
            body: """
                \(summary(request))
                <p class="note">You will sign in with <strong>\(HTML.escape(provider))</strong> next.</p>
                <form method="post" action="authorize">
                  \(form.hiddenFields)
                  <div class="actions">
                    <button type="submit" name="decision" value="approve" autofocus>Continue with \(HTML.escape(provider))</button>
                    <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
                  </div>
                </form>
                """)
    }

    /// Who asks for what, and where the answer goes.
    private static func summary(_ request: AuthorizationRequest) -> String {
        let scopes =
            request.scopes.isEmpty
            ? "<li>use the tools you have access to</li>"
            : request.scopes.map { "<li><code>\(HTML.escape($0))</code></li>" }.joined()
        let origin = request.client.isMetadataDocument
            ? "Its identity is published at <code>\(HTML.escape(request.client.id))</code>."
            : "It registered itself with this server; Gatehouse has not verified who made it."
        return """
            <h1>Allow <strong>\(HTML.escape(request.client.displayName))</strong> to use your account?</h1>
            <p>It asks to:</p>
            <ul>\(scopes)</ul>
            <p>on <code>\(HTML.escape(request.resource))</code>.</p>
            <p class="note">After you approve, you are sent to <strong>\(HTML.escape(request.redirectHost))</strong>. \(origin)</p>
            """
    }

    /// Why signing in through the identity provider did not work, and, when the application can
    /// be told, a link back to it carrying the error.
    static func problem(_ problem: UpstreamProblem, returnTo: String?) -> String {
        let fix = problem.fix.map { #"<p class="note">\#(HTML.escape($0))</p>"# } ?? ""
        let back = returnTo.map { #"<p><a class="button" href="\#(HTML.escape($0))">Return to the application</a></p>"# } ?? ""
        return page(
            title: "Sign-in did not complete",
            body: """
                <h1>Sign-in did not complete</h1>
                <p class="problem" role="alert">\(HTML.escape(problem.message))</p>
                \(fix)
                \(back)
                """)
    }

    /// What the user is told while sign-in attempts are throttled.
    static func wait(_ block: SignInThrottle.Block) -> String {
        let whose = block.scope == .account ? "for this account" : "from your network"
        let duration =
            switch block.retryAfter {
            case 120...: "\(block.retryAfter / 60) minutes"
            case 1: "1 second"
            default: "\(block.retryAfter) seconds"
            }
        return block.isLockout
            ? "Sign-in is locked \(whose) for \(duration) after too many failed attempts."
            : "Too many failed sign-ins \(whose): wait \(duration) before trying again."
    }

    /// Explains why an authorization request cannot go on, without redirecting anywhere.
    static func refusal(_ error: OAuthError) -> String {
        page(
            title: "This sign-in request cannot continue",
            body: """
                <h1>This sign-in request cannot continue</h1>
                <p class="problem" role="alert">\(HTML.escape(error.description))</p>
                <p class="note">Error code: <code>\(HTML.escape(error.code.rawValue))</code>. Go back to the application and start again.</p>
                """)
    }

    /// The layout every sign-in, connect and hub page shares; wider pages and their own rules
    /// through `maxWidth` and `extraStyle`.
    static func page(title: String, body: String, maxWidth: String = "28rem", extraStyle: String = "") -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>\(HTML.escape(title)) · Gatehouse</title>
        <style>
        body { font: 16px/1.5 system-ui, sans-serif; background: #f4f5f7; color: #1d2330; margin: 0; }
        main { max-width: \(maxWidth); margin: 3rem auto; background: #fff; padding: 2rem; border-radius: 12px; box-shadow: 0 2px 12px #0002; }
        h1 { font-size: 1.3rem; margin-top: 0; }
        .brand { font-weight: 600; color: #4a5568; letter-spacing: .04em; margin-bottom: 1rem; }
        code { background: #eef0f4; padding: 0 .25rem; border-radius: 4px; word-break: break-all; }
        .note { color: #4a5568; font-size: .9rem; }
        .problem { background: #fdecec; color: #9b1c1c; padding: .6rem .8rem; border-radius: 8px; }
        label { display: block; margin: .8rem 0; font-weight: 500; }
        input { display: block; width: 100%; box-sizing: border-box; padding: .55rem; margin-top: .25rem; border: 1px solid #c5cad3; border-radius: 8px; font: inherit; }
        .actions { display: flex; gap: .75rem; margin-top: 1.2rem; }
        button { flex: 1; padding: .65rem; border: 0; border-radius: 8px; font: inherit; font-weight: 600; background: #2b59c3; color: #fff; cursor: pointer; }
        button.secondary { background: #e2e5ea; color: #1d2330; }
        a.button { display: inline-block; padding: .65rem 1rem; border-radius: 8px; background: #2b59c3; color: #fff; font-weight: 600; text-decoration: none; }
        \(extraStyle)</style>
        </head>
        <body><main><div class="brand">GATEHOUSE</div>
        \(body)
        </main></body>
        </html>
        """
    }

}
