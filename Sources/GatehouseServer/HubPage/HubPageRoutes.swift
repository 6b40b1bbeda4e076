import Foundation
import GatehouseCore
import GatehouseHub
import GatehouseMCP
import GatehouseOAuth
import HTTPTypes
import Hummingbird

/// `/hub`: the page where a signed-in user sees their tools, MCP servers (adds, signs in to,
/// removes them) and accounts (connects, disconnects them) and how to connect a client;
/// `/hub/admin`, every user and their activity, for the administrators (`GATEHOUSE_HUB_ADMINS`).
/// Who is in the browser is the embedded sign-in's session; without one, the page offers a
/// password sign-in. Every form is CSRF-protected.
struct HubPageRoutes: Sendable {
    static let path = "/hub"

    let hub: Hub
    let connections: ConnectionsMount?
    let account: BrowserAccount
    /// The public URLs of this page and of the MCP endpoint.
    let pageURL: String
    let mcpURL: String
    /// Lowercased emails.
    let administrators: Set<String>

    /// The page's path, under the base URL's path when there is one.
    private var path: String { URLComponents(string: pageURL)?.path ?? Self.path }

    func register<Context: GatehouseContext>(on router: Router<Context>) {
        router.get(RouterPath(Self.path)) { request, _ in await overview(request) }
        router.post(RouterPath(Self.path + "/sign-in")) { request, context in await signIn(request, context) }
        router.post(RouterPath(Self.path + "/sign-out")) { request, _ in await posted(request) { _, _ in .signedOut } }
        router.post(RouterPath(Self.path + "/servers")) { request, _ in
            await posted(request) { user, form in
                guard let tools = connections?.tools, connections?.offersServers == true else {
                    return .problem("Connecting servers is not offered here.")
                }
                do {
                    let connection = try await tools.add(userID: user.id, name: (try? form.value("name")) ?? "", url: (try? form.value("url")) ?? "")
                    return .done(Notice(.added, connection.name))
                } catch {
                    return .problem("\(error)")
                }
            }
        }
        router.post(RouterPath(Self.path + "/servers/remove")) { request, _ in
            await posted(request) { user, form in
                guard let tools = connections?.tools, let name = try? form.value("name"),
                    (try? await tools.remove(userID: user.id, name: name)) == true
                else { return .problem("There is no such server to remove.") }
                return .done(Notice(.removed, name))
            }
        }
        router.post(RouterPath(Self.path + "/accounts/remove")) { request, _ in
            await posted(request) { user, form in
                guard let tools = connections?.tools, let name = try? form.value("name"),
                    connections?.accounts?.providers.provider(named: name) != nil,
                    (try? await tools.remove(userID: user.id, name: name)) == true
                else { return .problem("There is no such account to disconnect.") }
                return .done(Notice(.disconnected, name))
            }
        }
        router.get(RouterPath(Self.path + "/admin")) { request, _ in await administration(request) }
    }

    /// The signed-in user's page, or the sign-in form.
    private func overview(_ request: Request, notice: String? = nil) async -> Response {
        let binding = account.binding(request)
        let csrfToken = BrowserCookies.csrfToken(binding: binding)
        guard let user = await account.user(of: request) else {
            return page(HubPages.signIn(path: path, csrfToken: csrfToken, passwordSignIn: account.passwordSignIn), binding: binding)
        }
        do {
            let tools = try await hub.store.activeTools(userID: user.id)
            var servers: [HubPages.Server]?
            var accounts: [HubPages.Account]?
            if let connections {
                let mine = try await connections.tools.connections(of: user.id)
                if connections.offersServers {
                    servers = mine.filter { $0.kind == .mcpServer }.map { connection in
                        HubPages.Server(connection: connection, connectLink: try? connections.links.link(userID: user.id, name: connection.name))
                    }
                }
                accounts = connections.accounts?.providers.all.map { provider in
                    HubPages.Account(
                        name: provider.name, title: provider.title, connection: mine.first { $0.name == provider.name && $0.kind == .account },
                        connectLink: try? connections.links.link(userID: user.id, name: provider.name))
                }
            }
            let query = FormParameters(encoded: request.uri.query ?? "") ?? FormParameters([:])
            return page(
                HubPages.overview(
                    HubPages.Overview(
                        user: user, mcpURL: mcpURL, tools: tools, servers: servers, accounts: accounts, isAdministrator: isAdministrator(user),
                        csrfToken: csrfToken, notice: notice ?? Notice(query: query)?.text, path: path)),
                binding: binding)
        } catch {
            return page(HubPages.refusal("Your Gatehouse cannot be read right now; try again in a few seconds.", path: path), status: .serviceUnavailable)
        }
    }

    private func signIn(_ request: Request, _ context: some GatehouseContext) async -> Response {
        guard let form = try? await OAuthHTTP.form(request), account.formIsFromThisBrowser(request, csrfToken: try? form.value("csrf_token")) else {
            return page(HubPages.refusal("This page has expired or was not opened in this browser; open it again.", path: path), status: .badRequest)
        }
        let email = (try? form.value("email")) ?? ""
        switch await account.signIn(email: email, password: (try? form.value("password")) ?? "", from: context.remoteIP) {
        case .signedIn(_, let session):
            var response = AuthorizationPages.redirect(pageURL)
            response.setCookie(session)
            return response
        case .refused(let message, let status, let retryAfter):
            let binding = account.binding(request)
            var response = page(
                HubPages.signIn(
                    path: path, csrfToken: BrowserCookies.csrfToken(binding: binding), email: email, problem: message, passwordSignIn: true),
                status: status, binding: binding)
            if let retryAfter { response.headers[.retryAfter] = "\(retryAfter)" }
            return response
        }
    }

    /// What a posted form came to.
    private enum Outcome {
        case done(Notice)
        case problem(String)
        case signedOut
    }

    /// A form of the signed-in page: from this browser (CSRF), by its signed-in user; then back
    /// to the page (303), saying what happened.
    private func posted(_ request: Request, _ act: (HubUser, FormParameters) async -> Outcome) async -> Response {
        guard let form = try? await OAuthHTTP.form(request), account.formIsFromThisBrowser(request, csrfToken: try? form.value("csrf_token")),
            let user = await account.user(of: request)
        else { return page(HubPages.refusal("This page has expired or was not opened in this browser; open it again.", path: path), status: .badRequest) }
        switch await act(user, form) {
        case .done(let notice):
            return AuthorizationPages.redirect(pageURL + "?" + notice.query)
        case .problem(let text):
            return await overview(request, notice: text)
        case .signedOut:
            var response = AuthorizationPages.redirect(pageURL)
            response.setCookie(account.signedOutCookie)
            return response
        }
    }

    private func administration(_ request: Request) async -> Response {
        guard let user = await account.user(of: request) else { return AuthorizationPages.redirect(pageURL) }
        guard isAdministrator(user) else {
            return page(HubPages.refusal("The administration page is for the hub's administrators (GATEHOUSE_HUB_ADMINS).", path: path), status: .forbidden)
        }
        do {
            let everyone = try await hub.store.users().sorted { $0.lastSeenAt > $1.lastSeenAt }
            var rows: [HubPages.UserActivity] = []
            for user in everyone.prefix(200) {
                var connectionCount: Int?
                if let connections { connectionCount = try await connections.tools.connections(of: user.id).count }
                rows.append(
                    HubPages.UserActivity(user: user, tools: try await hub.store.activeTools(userID: user.id).map(\.name), connections: connectionCount))
            }
            return page(HubPages.administration(rows, total: everyone.count, path: path))
        } catch {
            return page(HubPages.refusal("The users cannot be read right now; try again in a few seconds.", path: path), status: .serviceUnavailable)
        }
    }

    private func isAdministrator(_ user: HubUser) -> Bool {
        user.identity.email.map { administrators.contains($0.lowercased()) } ?? false
    }

    private func page(_ html: String, status: HTTPResponse.Status = .ok, binding: String? = nil) -> Response {
        var response = AuthorizationPages.page(html, status: status)
        if let binding { response.setCookie(account.bindingCookie(binding)) }
        return response
    }
}

/// What the page says after a form, carried in the redirect as a kind and a server name (which
/// must look like one), never as text, so a link cannot make the page say anything else.
private struct Notice {
    enum Kind: String {
        case added, removed, disconnected
    }

    let kind: Kind
    let name: String

    init(_ kind: Kind, _ name: String) {
        self.kind = kind
        self.name = name
    }

    init?(query: FormParameters) {
        guard let kind = (try? query.value("done")).flatMap(Kind.init(rawValue:)), let name = try? query.value("name"),
            UserConnection.isValidName(name)
        else { return nil }
        self.init(kind, name)
    }

    var query: String { URLEncoding.query([("done", kind.rawValue), ("name", name)]) }

    var text: String {
        switch kind {
        case .added: "Added \(name). Sign in to it below to use its tools."
        case .removed: "Removed \(name); the hub no longer holds tokens for it."
        case .disconnected: "Disconnected your \(name) account; the hub no longer holds tokens for it."
        }
    }
}
