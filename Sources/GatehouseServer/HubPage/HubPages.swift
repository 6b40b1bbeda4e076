import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseHub

/// The HTML of the `/hub` pages: a signed-in user's tools, servers and how to connect a client,
/// and the administrator view. Server-rendered, no script; every value is escaped; forms carry
/// the browser's CSRF token.
enum HubPages {
    /// One of the user's servers, with the link that signs in to it.
    struct Server {
        var connection: UserConnection
        var connectLink: String?
    }

    /// One of the operator's account providers, and the user's connection of it if any.
    struct Account {
        var name: String
        var title: String
        var connection: UserConnection?
        var connectLink: String?
    }

    /// What the page shows a signed-in user.
    struct Overview {
        var user: HubUser
        var mcpURL: String
        var tools: [ActiveTool]
        /// `nil` when connecting servers is not offered.
        var servers: [Server]?
        /// `nil` when connecting accounts is not offered.
        var accounts: [Account]?
        var isAdministrator: Bool
        var csrfToken: String
        var notice: String?
        /// The page's own path (`/hub`, under a base path when there is one): forms post below it.
        var path: String
    }

    static func signIn(path: String, csrfToken: String, email: String = "", problem: String? = nil, passwordSignIn: Bool) -> String {
        let alert = problem.map { #"<p class="problem" role="alert">\#(HTML.escape($0))</p>"# } ?? ""
        guard passwordSignIn else {
            return SignInPage.page(
                title: "Your Gatehouse",
                body: """
                    <h1>Your Gatehouse</h1>
                    \(alert)
                    <p>This browser is not signed in. Connect your MCP client to this hub and sign in when it asks, in this browser; then open this page again.</p>
                    """)
        }
        return SignInPage.page(
            title: "Sign in to your Gatehouse",
            body: """
                <h1>Sign in to your Gatehouse</h1>
                \(alert)
                <form method="post" action="\(HTML.escape(path))/sign-in">
                  <input type="hidden" name="csrf_token" value="\(HTML.escape(csrfToken))">
                  <label>Email <input type="email" name="email" value="\(HTML.escape(email))" autocomplete="username" required autofocus></label>
                  <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
                  <div class="actions"><button type="submit">Sign in</button></div>
                </form>
                """)
    }

    static func overview(_ page: Overview) -> String {
        let who = page.user.identity.email ?? page.user.identity.name ?? page.user.identity.subject
        let notice = page.notice.map { #"<p class="notice" role="status">\#(HTML.escape($0))</p>"# } ?? ""
        let admin = page.isAdministrator ? #"<p><a href="\#(HTML.escape(page.path))/admin">Administration: every user and their activity</a></p>"# : ""
        return layout(
            title: "Your Gatehouse",
            body: """
                <header>
                  <h1>Your Gatehouse</h1>
                  <p>Signed in as <strong>\(HTML.escape(who))</strong>.</p>
                  <form method="post" action="\(HTML.escape(page.path))/sign-out" class="inline">
                    <input type="hidden" name="csrf_token" value="\(HTML.escape(page.csrfToken))">
                    <button type="submit" class="secondary">Sign out</button>
                  </form>
                </header>
                \(notice)
                \(snippets(page.mcpURL))
                \(tools(page.tools))
                \(page.servers.map { servers($0, csrfToken: page.csrfToken, path: page.path) } ?? "")
                \(page.accounts.map { accounts($0, csrfToken: page.csrfToken, path: page.path) } ?? "")
                \(admin)
                """)
    }

    private static func snippets(_ mcpURL: String) -> String {
        let url = HTML.escape(mcpURL)
        return """
            <section aria-labelledby="connect-heading">
              <h2 id="connect-heading">Connect a client</h2>
              <p>Every client signs in here the first time it connects. Copy the line for yours:</p>
              <dl class="snippets">
                <dt>Claude Code</dt><dd><pre><code>claude mcp add --transport http gatehouse \(url)</code></pre></dd>
                <dt>Claude and ChatGPT (web)</dt><dd>Add a custom connector with the URL <code>\(url)</code>.</dd>
                <dt>Cursor (<code>~/.cursor/mcp.json</code>)</dt><dd><pre><code>{ "mcpServers": { "gatehouse": { "url": "\(url)" } } }</code></pre></dd>
                <dt>VS Code (<code>.vscode/mcp.json</code>)</dt><dd><pre><code>{ "servers": { "gatehouse": { "type": "http", "url": "\(url)" } } }</code></pre></dd>
                <dt>Gatehouse CLI</dt><dd><pre><code>gatehouse login \(url)</code></pre></dd>
              </dl>
            </section>
            """
    }

    private static func tools(_ tools: [ActiveTool]) -> String {
        guard !tools.isEmpty else {
            return """
                <section aria-labelledby="tools-heading"><h2 id="tools-heading">Your tools</h2>
                <p>None yet. Ask your assistant to <code>list_available_tools</code> and <code>add_tool</code>.</p></section>
                """
        }
        let rows = tools.map { tool in
            "<tr><th scope=\"row\">\(HTML.escape(tool.name))</th><td><code>\(HTML.escape(redacted(tool.configuration)))</code></td><td>\(day(tool.activatedAt))</td></tr>"
        }
        return """
            <section aria-labelledby="tools-heading">
              <h2 id="tools-heading">Your tools</h2>
              <table><thead><tr><th scope="col">Tool</th><th scope="col">Configuration</th><th scope="col">Added</th></tr></thead>
              <tbody>\(rows.joined())</tbody></table>
            </section>
            """
    }

    private static func status(_ connection: UserConnection?) -> String {
        switch connection?.status {
        case .connected?: "Connected"
        case .pending?: "Not signed in yet"
        case .reconnectNeeded?: "Needs you to sign in again"
        case nil: "Not connected"
        }
    }

    private static func accounts(_ accounts: [Account], csrfToken: String, path: String) -> String {
        let rows = accounts.map { account in
            let action = account.connectLink.map { link in
                let label = account.connection?.status == .connected ? "Sign in again" : "Connect"
                return #"<a class="button small" href="\#(HTML.escape(link))" aria-label="\#(label): \#(HTML.escape(account.title))">\#(label)</a>"#
            } ?? ""
            let disconnect =
                account.connection == nil
                ? ""
                : """
                <form method="post" action="\(HTML.escape(path))/accounts/remove" class="inline">
                  <input type="hidden" name="csrf_token" value="\(HTML.escape(csrfToken))">
                  <input type="hidden" name="name" value="\(HTML.escape(account.name))">
                  <button type="submit" class="secondary small" aria-label="Disconnect \(HTML.escape(account.title))">Disconnect</button>
                </form>
                """
            return """
                <tr><th scope="row">\(HTML.escape(account.title))</th><td><code>\(HTML.escape(account.name))</code></td>
                <td>\(status(account.connection))</td><td class="actions-cell">\(action)\(disconnect)</td></tr>
                """
        }
        return """
            <section aria-labelledby="accounts-heading">
              <h2 id="accounts-heading">Your accounts</h2>
              <p>Accounts you connect let your tools (<code>http_fetch</code> with <code>account</code>) call their APIs as you.</p>
              <table><thead><tr><th scope="col">Provider</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead>
              <tbody>\(rows.joined())</tbody></table>
            </section>
            """
    }

    private static func servers(_ servers: [Server], csrfToken: String, path: String) -> String {
        let rows = servers.map { server in
            let connection = server.connection
            let status = status(connection)
            let action = server.connectLink.map { link in
                #"<a class="button small" href="\#(HTML.escape(link))">\#(connection.status == .connected ? "Sign in again" : "Sign in")</a>"#
            } ?? ""
            return """
                <tr><th scope="row">\(HTML.escape(connection.name))</th><td><code>\(HTML.escape(connection.serverURL))</code></td><td>\(status)</td>
                <td class="actions-cell">\(action)
                <form method="post" action="\(HTML.escape(path))/servers/remove" class="inline">
                  <input type="hidden" name="csrf_token" value="\(HTML.escape(csrfToken))">
                  <input type="hidden" name="name" value="\(HTML.escape(connection.name))">
                  <button type="submit" class="secondary small" aria-label="Remove \(HTML.escape(connection.name))">Remove</button>
                </form></td></tr>
                """
        }
        let table =
            servers.isEmpty
            ? "<p>None yet.</p>"
            : """
            <table><thead><tr><th scope="col">Name</th><th scope="col">URL</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead>
            <tbody>\(rows.joined())</tbody></table>
            """
        return """
            <section aria-labelledby="servers-heading">
              <h2 id="servers-heading">Your MCP servers</h2>
              <p>Servers you connect appear to your assistant as <code>&lt;name&gt;_&lt;tool&gt;</code>, for you only.</p>
              \(table)
              <form method="post" action="\(HTML.escape(path))/servers" class="add">
                <input type="hidden" name="csrf_token" value="\(HTML.escape(csrfToken))">
                <label>Name <input name="name" pattern="\(UserConnection.namePattern)" required placeholder="linear"></label>
                <label>URL <input name="url" type="url" required placeholder="https://mcp.example.com/mcp"></label>
                <div class="actions"><button type="submit">Add server</button></div>
              </form>
            </section>
            """
    }

    /// A row of the administrator view.
    struct UserActivity {
        var user: HubUser
        var tools: [String]
        /// Servers and accounts; `nil` when neither is offered.
        var connections: Int?
    }

    static func administration(_ users: [UserActivity], total: Int, path: String) -> String {
        let rows = users.map { activity in
            let identity = activity.user.identity
            return """
                <tr><th scope="row">\(HTML.escape(identity.email ?? identity.subject))</th><td>\(HTML.escape(identity.name ?? ""))</td>
                <td>\(HTML.escape(identity.oauthProvider))</td><td>\(day(activity.user.createdAt))</td><td>\(moment(activity.user.lastSeenAt))</td>
                <td>\(HTML.escape(activity.tools.joined(separator: ", ")))</td>\(activity.connections.map { "<td>\($0)</td>" } ?? "")</tr>
                """
        }
        let connectionsColumn = users.first?.connections != nil ? #"<th scope="col">Connections</th>"# : ""
        let shown = users.count < total ? "<p>The \(users.count) most recently seen of \(total) users.</p>" : "<p>\(total) users.</p>"
        return layout(
            title: "Gatehouse administration",
            body: """
                <header><h1>Users and their activity</h1><p><a href="\(HTML.escape(path))">Back to your Gatehouse</a></p></header>
                \(shown)
                <table><thead><tr><th scope="col">User</th><th scope="col">Name</th><th scope="col">Signed in with</th>
                <th scope="col">First seen</th><th scope="col">Last seen</th><th scope="col">Tools</th>\(connectionsColumn)</tr></thead>
                <tbody>\(rows.joined())</tbody></table>
                """)
    }

    static func refusal(_ message: String, path: String) -> String {
        SignInPage.page(
            title: "Not available",
            body: """
                <h1>Not available</h1>
                <p class="problem" role="alert">\(HTML.escape(message))</p>
                <p class="note"><a href="\(HTML.escape(path))">Back to your Gatehouse</a></p>
                """)
    }

    /// A stored configuration with its secrets shown as `********`.
    private static func redacted(_ configuration: String) -> String {
        guard case .object(let object)? = try? JSONValue.parse(Array(configuration.utf8)) else { return "" }
        var writer = JSONWriter()
        writer.value(.object(SecretBox.redact(object)))
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    private static func day(_ date: Date) -> String { String(HubTime.text(date).prefix(10)) }
    private static func moment(_ date: Date) -> String { String(HubTime.text(date).prefix(16)) + " UTC" }

    /// The sign-in pages' layout, wider, with rules for tables and snippets.
    private static func layout(title: String, body: String) -> String {
        SignInPage.page(title: title, body: body, maxWidth: "60rem", extraStyle: extraStyle)
    }

    private static let extraStyle = """
        header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1.5rem; }
        header h1 { margin: 0; }
        section { margin-top: 2rem; }
        h2 { font-size: 1.1rem; border-bottom: 1px solid #e2e5ea; padding-bottom: .3rem; }
        table { width: 100%; border-collapse: collapse; font-size: .92rem; }
        th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid #eef0f4; vertical-align: top; }
        thead th { color: #4a5568; font-weight: 600; }
        pre { background: #eef0f4; padding: .6rem .8rem; border-radius: 8px; overflow-x: auto; margin: .3rem 0 .8rem; }
        pre code { background: none; padding: 0; }
        dt { font-weight: 600; margin-top: .6rem; }
        dd { margin: 0; }
        form.inline { display: inline; }
        form.add { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; margin-top: 1rem; }
        form.add label { margin: 0; flex: 1 1 12rem; }
        form.add .actions { margin: 0; }
        .small { padding: .35rem .7rem; font-size: .85rem; flex: none; }
        .actions-cell { white-space: nowrap; }
        .notice { background: #e8f3ea; color: #1e5b2a; padding: .6rem .8rem; border-radius: 8px; }
        a:focus, button:focus, input:focus { outline: 3px solid #8fb0f0; outline-offset: 2px; }

        """
}
