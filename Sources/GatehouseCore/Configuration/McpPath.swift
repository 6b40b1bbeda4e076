import Foundation

/// Validation of the MCP endpoint path setting.
enum McpPath {
    /// Returns `path` with one leading slash and no trailing slash, or throws why it cannot serve.
    static func normalize(_ raw: String) throws -> String {
        var path = raw.trimmingCharacters(in: .whitespaces)
        if !path.hasPrefix("/") { path = "/" + path }
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/")
        guard path != "/", !path.contains("//"), path.allSatisfy(allowed.contains) else {
            throw ConfigurationValueError(
                "cannot use \"\(raw.prefix(64))\"; expected a path such as /mcp or /api/mcp (letters, digits, - . _ ~ /)")
        }
        for reserved in ["/.well-known", "/healthz"] where path == reserved || path.hasPrefix(reserved + "/") {
            throw ConfigurationValueError("\(path) is reserved for \(reserved); choose another path such as /mcp")
        }
        return path
    }
}
