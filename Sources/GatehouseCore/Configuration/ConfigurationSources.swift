/// Where a configuration value came from, in order of precedence (highest first).
///
/// Gatehouse resolves every setting by walking these layers in order and taking
/// the first value it finds: a command-line flag beats `--env KEY=VALUE`, which
/// beats the process environment, which beats the `.env` file. A setting no layer
/// sets keeps its built-in default.
public enum ConfigurationLayer: Sendable, CustomStringConvertible {
    case flag
    case envOverride
    case environment
    case dotEnvFile

    public var description: String {
        switch self {
        case .flag: "command-line flag"
        case .envOverride: "--env"
        case .environment: "environment"
        case .dotEnvFile: ".env file"
        }
    }
}

/// The raw key/value layers that configuration is resolved from.
///
/// Keys in ``flags`` are setting names (for example `port`); keys in the other
/// layers are environment variable names (for example `HUB_PORT`).
public struct ConfigurationSources: Sendable {
    /// Values given as dedicated command-line flags, keyed by ``Setting/name``.
    public var flags: [String: String]
    /// Values given as `--env KEY=VALUE` on the command line.
    public var envOverrides: [String: String]
    /// The process environment.
    public var environment: [String: String]
    /// The parsed `.env` file, if there was one.
    public var dotEnv: [String: String]

    public init(
        flags: [String: String] = [:],
        envOverrides: [String: String] = [:],
        environment: [String: String] = [:],
        dotEnv: [String: String] = [:]
    ) {
        self.flags = flags
        self.envOverrides = envOverrides
        self.environment = environment
        self.dotEnv = dotEnv
    }

    /// A raw value found for a setting, with the variable name and layer it came from.
    public struct Found: Sendable, Equatable {
        public var value: String
        public var key: String
        public var layer: ConfigurationLayer
    }

    /// Finds the highest-precedence raw value for `setting`, or `nil` when no layer sets it.
    ///
    /// An empty value (`HUB_BASE_URL=` in a `.env` file) counts as unset, as it does in the
    /// seed guides' shells.
    public func lookup(_ setting: Setting) -> Found? {
        if let value = flags[setting.name], !value.isEmpty {
            return Found(value: value, key: "--\(setting.flag ?? setting.name)", layer: .flag)
        }
        let layers: [(ConfigurationLayer, [String: String])] = [
            (.envOverride, envOverrides), (.environment, environment), (.dotEnvFile, dotEnv),
        ]
        for (layer, values) in layers {
            for key in setting.environmentNames {
                if let value = values[key], !value.isEmpty {
                    return Found(value: value, key: key, layer: layer)
                }
            }
        }
        return nil
    }
}
