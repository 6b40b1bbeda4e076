import Foundation
import GatehouseCore
import GatehouseOAuth
import Hummingbird

/// The cookies of the sign-in pages.
///
/// - The browser binding ties a consent page, and an upstream round trip, to the browser
///   that opened it (login CSRF).
/// - The browser session names the user an upstream sign-in signed in, so a consent they
///   gave is remembered.
///
/// On https both carry the `__Host-` prefix: Secure, whole-site, never set by a subdomain. Each
/// name ends with a short hash of the issuer: cookies ignore the port, so two Gatehouse servers
/// on one host (a hub and an idp on localhost, or a hub and the server a user connects to) would
/// otherwise overwrite each other's cookies.
struct BrowserCookies: Sendable {
    let secure: Bool
    let bindingName: String
    let sessionName: String

    init(secure: Bool, issuer: String) {
        self.secure = secure
        let scope = String(SecretToken.hash(issuer).prefix(8))
        let prefix = secure ? "__Host-" : ""
        bindingName = prefix + "gatehouse_browser_" + scope
        sessionName = prefix + "gatehouse_session_" + scope
    }

    /// The browser binding from the request's cookie, when it has the form Gatehouse gives it
    /// (43 base64url characters); anything else is ignored and replaced.
    func binding(_ request: Request) -> String? {
        guard let value = request.cookies[bindingName]?.value, value.utf8.count == 43,
            value.utf8.allSatisfy(Base64URL.isAlphabetCharacter)
        else { return nil }
        return value
    }

    /// The binding cookie. `Strict` when the binding is checked only by the page's own form;
    /// `Lax` when an upstream provider's redirect back (a cross-site navigation) must carry it.
    func binding(_ value: String, crossSiteReturn: Bool) -> Cookie {
        Cookie(
            name: bindingName, value: value, maxAge: 600, path: "/", secure: secure, httpOnly: true,
            sameSite: crossSiteReturn ? .lax : .strict)
    }

    /// The user named by the request's browser-session cookie, when it is valid.
    func sessionUser(_ request: Request, server: AuthorizationServer) -> String? {
        request.cookies[sessionName].flatMap { server.openBrowserSession($0.value) }
    }

    func session(_ sealed: String) -> Cookie {
        Cookie(
            name: sessionName, value: sealed, maxAge: Int(AuthorizationServer.browserSessionLifetime), path: "/", secure: secure,
            httpOnly: true, sameSite: .lax)
    }

    /// The CSRF token the page's form repeats: derived from the binding, so a page from
    /// another browser (or site) cannot carry the right one.
    static func csrfToken(binding: String) -> String {
        SecretToken.hash("csrf:" + binding)
    }
}
