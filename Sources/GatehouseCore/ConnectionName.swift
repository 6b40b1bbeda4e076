/// What the name of a hub user's connection may be, a server's they choose or an account
/// provider's the operator configures: 1 to 24 lowercase letters, digits and `-`, starting with
/// a letter (no `_`, which ends the name in a server's `<name>_<tool>`).
public enum ConnectionName {
    /// The pattern, for a JSON Schema or an HTML form.
    public static let pattern = "[a-z][a-z0-9-]{0,23}"

    public static func isValid(_ name: String) -> Bool {
        name.wholeMatch(of: /[a-z][a-z0-9-]{0,23}/) != nil
    }
}
