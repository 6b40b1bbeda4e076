import Foundation

/// Reads one setting's raw value and parses it, turning a parse failure into a
/// ``ConfigurationError`` that quotes the setting's summary as the expected form.
struct SettingReader {
    let sources: ConfigurationSources

    func callAsFunction<T>(_ setting: Setting, _ parse: (String) throws -> T?) throws(ConfigurationError) -> T? {
        guard let found = sources.lookup(setting) else { return nil }
        do {
            if let value = try parse(found.value) { return value }
        } catch let error as ConfigurationValueError {
            throw ConfigurationError(key: found.key, layer: found.layer, problem: error.problem)
        } catch {}
        throw ConfigurationError(
            key: found.key, layer: found.layer,
            problem: "cannot use \(Self.quoted(found.value)); expected: \(setting.summary)")
    }

    /// True when any layer sets `setting`.
    func isSet(_ setting: Setting) -> Bool { sources.lookup(setting) != nil }

    /// Reads a `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`) setting.
    func flag(_ setting: Setting) throws(ConfigurationError) -> Bool? {
        try self(setting) { value in
            switch value.lowercased() {
            case "1", "true", "yes", "on": true
            case "0", "false", "no", "off": false
            default: nil
            }
        }
    }

    /// Reads a comma- or space-separated list, dropping empty entries.
    func list(_ setting: Setting) throws(ConfigurationError) -> [String]? {
        try self(setting) { value in
            value.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        }
    }

    func error(_ setting: Setting, _ problem: String) -> ConfigurationError {
        let found = sources.lookup(setting)
        return ConfigurationError(key: found?.key ?? setting.description, layer: found?.layer, problem: problem)
    }

    /// Quotes a value for an error message, shortened so a pasted secret is never printed whole.
    static func quoted(_ value: String) -> String {
        value.count <= 64 ? "\"\(value)\"" : "\"\(value.prefix(16))…\" (\(value.count) characters)"
    }
}

/// Thrown by a value parser to give a precise reason instead of the generic "expected" message.
public struct ConfigurationValueError: Error, Sendable {
    public var problem: String
    public init(_ problem: String) { self.problem = problem }
}
