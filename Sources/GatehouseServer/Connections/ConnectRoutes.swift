import Foundation
import GatehouseCore
import GatehouseHub
import GatehouseMCP
import GatehouseOAuth
import HTTPTypes
import Hummingbird
import NIOCore

/// `/connect`, where a connect link brings the user's browser, and `/connect/callback`, where
/// the server they connect sends it back.
///
/// MCP authorization (2025-11-25, "Security Considerations" of URL-mode elicitation): the page
/// a link opens must check that the person in the browser is the user the link was made for
/// before sending them to the third party, or an attacker could send their own link to a victim
/// and have the victim's account land in the attacker's connection. Here the browser's user is
/// the one its Gatehouse sign-in session names; without one (or with another), the page asks
/// for a password sign-in as the right account.
struct ConnectRoutes: Sendable {
    static let path = "/connect"
    static let callbackPath = "/connect/callback"
    /// The hub's Client ID Metadata Document: its client id where a server accepts those.
    static let clientMetadataPath = "/connect/client-metadata.json"

    let links: ConnectLinks
    let signIn: ConnectionSignIn
    let tools: ConnectionTools
    /// The accounts users may connect; a link may name one the user has not added yet.
    let accounts: AccountAccess?
    let account: BrowserAccount
    /// The Client ID Metadata Document served, when the hub uses one.
    let clientMetadata: [UInt8]?

    func register<Context: GatehouseContext>(on router: Router<Context>) {
        router.get(RouterPath(Self.path)) { request, context in await start(request, context) }
        router.post(RouterPath(Self.path)) { request, context in await signInAndStart(request, context) }
        router.get(RouterPath(Self.callbackPath)) { request, context in await callback(request, context) }
        if let clientMetadata {
            router.get(RouterPath(Self.clientMetadataPath)) { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=3600"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: clientMetadata)))
            }
        }
    }

    /// A link opened: straight on to the server when the browser is the link's user's.
    private func start(_ request: Request, _ context: some GatehouseContext) async -> Response {
        let query = FormParameters(encoded: request.uri.query ?? "") ?? FormParameters([:])
        guard let sealed = try? query.value("request") else { return problem("This link is incomplete.", .badRequest) }
        let link: ConnectLinks.Request
        do {
            link = try links.open(sealed)
        } catch {
            return problem("\(error)", .badRequest)
        }
        let browserUser = await account.user(of: request)?.id
        if browserUser == link.userID { return await toServer(link, context) }
        let mismatch = browserUser == nil ? nil : "This browser is signed in to another account than the one this link is for."
        guard account.passwordSignIn else {
            return problem(
                (mismatch ?? "This browser is not signed in to Gatehouse.")
                    + " Sign in to Gatehouse in this browser as the account that asked (connect your assistant again), then open the link again.",
                .forbidden)
        }
        return signInPage(sealed, link, request: request, problem: mismatch)
    }

    /// The password form: signed in as the link's user, on to the server.
    private func signInAndStart(_ request: Request, _ context: some GatehouseContext) async -> Response {
        let form: FormParameters
        let sealed: String
        let link: ConnectLinks.Request
        do {
            form = try await OAuthHTTP.form(request)
            sealed = try form.required("request")
            link = try links.open(sealed)
        } catch {
            return problem("\(error)", .badRequest)
        }
        guard account.formIsFromThisBrowser(request, csrfToken: try? form.value("csrf_token")) else {
            return problem("This sign-in page has expired or was not opened in this browser; open the link again.", .badRequest)
        }
        let email = (try? form.value("email")) ?? ""
        switch await account.signIn(email: email, password: (try? form.value("password")) ?? "", from: context.remoteIP) {
        case .signedIn(let user, let session):
            guard user.id == link.userID else {
                return signInPage(sealed, link, request: request, email: email, problem: "That account is not the one this link is for.")
            }
            var response = continuePage(sealed, link)
            response.setCookie(session)
            return response
        case .refused(let message, _, _):
            return signInPage(sealed, link, request: request, email: email, problem: message)
        }
    }

    /// The server's answer: the sign-in is finished in the browser of the user who began it.
    private func callback(_ request: Request, _ context: some GatehouseContext) async -> Response {
        let query = FormParameters(encoded: request.uri.query ?? "") ?? FormParameters([:])
        guard let browserUser = await account.user(of: request)?.id else {
            return problem("This browser is not signed in to Gatehouse, so the connection cannot be finished here.", .forbidden)
        }
        do {
            // RFC 6749 §4.1.2 and §4.1.2.1, RFC 9207: what an authorization response carries.
            var parameters: [String: String] = [:]
            for name in ["code", "state", "iss", "error", "error_description"] {
                if let value = try? query.value(name) { parameters[name] = value }
            }
            let connection = try await signIn.finish(parameters: parameters, browserUserID: browserUser)
            tools.forget(userID: connection.userID, name: connection.name)
            context.logger.info(
                "user connected \(connection.kind == .account ? "an account" : "an MCP server")",
                metadata: ["connection": "\(connection.name)", "user_id": "\(connection.userID)"])
            return ConnectPages.response(ConnectPages.connected(connection), status: .ok)
        } catch let error as ConnectionError {
            return problem(error.description, .badRequest)
        } catch is any StoreUnavailable {
            return problem("Gatehouse cannot reach its store right now; try again in a few seconds.", .serviceUnavailable)
        } catch {
            return problem("\(error)", .badGateway)
        }
    }

    /// Begins the sign-in at the link's server and sends the browser there.
    private func toServer(_ link: ConnectLinks.Request, _ context: some GatehouseContext) async -> Response {
        do {
            if let accounts, let provider = accounts.providers.provider(named: link.name) {
                _ = try await accounts.accountConnection(userID: link.userID, provider: provider)
            }
            return AuthorizationPages.redirect(try await signIn.begin(userID: link.userID, name: link.name, scopes: link.scopes))
        } catch let error as ConnectionError {
            return problem(error.description, .badRequest)
        } catch let error as ToolError {
            return problem(error.message, .badRequest)
        } catch is any StoreUnavailable {
            return problem("Gatehouse cannot reach its store right now; try again in a few seconds.", .serviceUnavailable)
        } catch {
            context.logger.warning("cannot begin a connection sign-in", metadata: ["connection": "\(link.name)", "error": "\(error)"])
            return problem("Gatehouse cannot sign in to \(link.name): \(error)", .badGateway)
        }
    }

    private func signInPage(
        _ sealed: String, _ link: ConnectLinks.Request, request: Request, email: String = "", problem: String? = nil
    ) -> Response {
        let binding = account.binding(request)
        var response = ConnectPages.response(
            ConnectPages.signIn(request: sealed, csrfToken: BrowserCookies.csrfToken(binding: binding), name: link.name, email: email, problem: problem),
            status: problem == nil ? .ok : .unauthorized)
        response.setCookie(account.bindingCookie(binding))
        return response
    }

    /// After the password form: a plain link on to the server (a redirect after a form would
    /// have to be allowed by the page's `form-action`, and the server's origin is not known yet).
    private func continuePage(_ sealed: String, _ link: ConnectLinks.Request) -> Response {
        let next = links.pageURL + "?" + URLEncoding.query([("request", sealed)])
        return ConnectPages.response(ConnectPages.continueTo(link.name, url: next), status: .ok)
    }

    private func problem(_ message: String, _ status: HTTPResponse.Status) -> Response {
        ConnectPages.response(ConnectPages.problem(message), status: status)
    }
}
