/// Seed-guide settings this version of Gatehouse knows by name but does not act on yet.
///
/// Knowing them lets `--env` reject typos while accepting the names users already
/// have; setting one logs a warning at start-up.
public struct ReservedSetting: Sendable, Hashable {
    public let environmentName: String

    /// The setting as ``ConfigurationSources/lookup(_:)`` reads it: environment layers only, no flag.
    var setting: Setting { Setting(name: environmentName, environmentNames: [environmentName], summary: "") }

    public static let all: [ReservedSetting] = [
        // PostgreSQL for the hub's store (a later issue).
        "HUB_DATABASE_URL",
    ].map(ReservedSetting.init(environmentName:))
}
