import Foundation
import GatehouseCore
import GatehouseHub
import GatehouseOAuth
import HTTPTypes
import Hummingbird

/// Who is signed in to Gatehouse in a browser, as a hub user, for the hub's own pages (`/hub`,
/// `/connect`): the user the embedded authorization server's sign-in session cookie names, and
/// the password sign-in that sets it.
struct BrowserAccount: Sendable {
    let server: AuthorizationServer
    let cookies: BrowserCookies
    let users: UserDirectory
    /// Whether people sign in here with a password (else through an upstream provider, whose
    /// sign-in sets the session cookie).
    let passwordSignIn: Bool

    /// The hub user this browser is signed in as, if any.
    func user(of request: Request) async -> HubUser? {
        guard let localUserID = cookies.sessionUser(request, server: server),
            let local = try? await server.store.localUser(id: localUserID)
        else { return nil }
        return try? await users.user(for: principal(local))
    }

    /// What a password sign-in came to.
    enum SignIn {
        /// Signed in: the user, and the session cookie to set.
        case signedIn(HubUser, Cookie)
        /// Not signed in: why, for the page, with its status (and `Retry-After`, when throttled).
        case refused(String, HTTPResponse.Status, retryAfter: Int?)
    }

    /// Checks `email` and `password` within the sign-in throttle, as the consent page does.
    func signIn(email: String, password: String, from address: String) async -> SignIn {
        guard passwordSignIn else { return .refused("Password sign-in is not offered here.", .methodNotAllowed, retryAfter: nil) }
        let outcome: LocalUsers.SignIn
        do {
            outcome = try await server.users.signIn(email: email, password: password, from: address)
        } catch {
            return .refused("Sign-in cannot be checked right now; try again in a few seconds.", .serviceUnavailable, retryAfter: 5)
        }
        switch outcome {
        case .signedIn(let local):
            guard let user = try? await users.user(for: principal(local)),
                let session = try? server.sealBrowserSession(userID: local.id)
            else { return .refused("Sign-in cannot be completed right now; try again in a few seconds.", .serviceUnavailable, retryAfter: 5) }
            return .signedIn(user, cookies.session(session))
        case .refused(let block):
            return .refused(
                ["Wrong email or password.", block.map(SignInPage.wait)].compactMap { $0 }.joined(separator: " "), .unauthorized, retryAfter: nil)
        case .throttled(let block):
            return .refused(SignInPage.wait(block), .tooManyRequests, retryAfter: block.retryAfter)
        case .busy:
            return .refused("The server is busy checking other sign-ins; try again in a few seconds.", .serviceUnavailable, retryAfter: 5)
        }
    }

    /// The session cookie emptied and expired: the browser is signed out of the hub's pages
    /// (tokens its clients hold are not affected).
    var signedOutCookie: Cookie {
        Cookie(name: cookies.sessionName, value: "", maxAge: 0, path: "/", secure: cookies.secure, httpOnly: true, sameSite: .lax)
    }

    /// This browser's binding (CSRF) value, a new one when it has none; set it with ``bindingCookie(_:)``.
    func binding(_ request: Request) -> String {
        cookies.binding(request) ?? SecretToken.generate()
    }

    func bindingCookie(_ binding: String) -> Cookie {
        cookies.binding(binding, crossSiteReturn: false)
    }

    /// Whether a posted form's CSRF token derives from this browser's binding (login CSRF).
    func formIsFromThisBrowser(_ request: Request, csrfToken: String?) -> Bool {
        guard let binding = cookies.binding(request), let csrfToken else { return false }
        return csrfToken == BrowserCookies.csrfToken(binding: binding)
    }

    /// The principal a token of the embedded authorization server's user would carry (its
    /// access tokens name the user's email and name), so the hub user is the same one.
    private func principal(_ local: LocalUser) -> Principal {
        var claims: [String: JSONValue] = ["email": .string(local.email)]
        if let name = local.name { claims["name"] = .string(name) }
        return Principal(subject: local.id, issuer: server.settings.issuer, email: local.email, claims: claims)
    }
}
