import Foundation
import GatehouseCore

extension AuthorizationServer {
    /// How long a browser stays known as a user's after an upstream sign-in.
    public static let browserSessionLifetime: TimeInterval = 7 * 86_400

    /// A cookie value naming `userID`, sealed with the server's key so it cannot be forged or
    /// read, valid for ``browserSessionLifetime``. It only lets a remembered consent skip the
    /// consent page; the person still signs in at the provider.
    public func sealBrowserSession(userID: String) throws -> String {
        let document: JSONValue = [
            "user": .string(userID), "expires_at": .int(Int(now().addingTimeInterval(Self.browserSessionLifetime).timeIntervalSince1970)),
        ]
        var writer = JSONWriter()
        writer.value(document)
        return Base64URL.encode(try secrets.seal(Data(writer.bytes), what: "a browser session"))
    }

    /// The user a browser-session cookie names, when it opens and has not expired.
    public func openBrowserSession(_ value: String) -> String? {
        guard value.utf8.count < 1024, let bytes = Base64URL.decode(Substring(value)),
            let opened = try? secrets.openSealed(bytes, what: "a browser session"),
            let fields = (try? JSONValue.parse(opened))?.objectValue, let expiry = fields["expires_at"]?.intValue,
            Double(expiry) > now().timeIntervalSince1970
        else { return nil }
        return fields["user"]?.stringValue
    }
}
