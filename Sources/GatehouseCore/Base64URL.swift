import Foundation

/// Unpadded base64url (RFC 4648 §5), the encoding of JOSE, PKCE and Gatehouse's random ids.
public enum Base64URL {
    /// `data` as unpadded base64url.
    public static func encode(_ data: some Sequence<UInt8>) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The bytes of unpadded base64url `text`, or `nil` when it cannot be decoded or carries padding.
    /// Callers that must refuse other characters check them with ``isAlphabetCharacter(_:)``.
    public static func decode(_ text: some StringProtocol) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !base64.contains("=") || text.isEmpty else { return nil }
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }

    /// True for the characters of the base64url alphabet: `A-Z a-z 0-9 - _`.
    public static func isAlphabetCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }
}

extension Base64URL {
    /// `byteCount` bytes from the system CSPRNG.
    public static func randomBytes(_ byteCount: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// `byteCount` random bytes as base64url: ids, tokens, PKCE verifiers, `state`.
    public static func random(byteCount: Int) -> String {
        encode(randomBytes(byteCount))
    }
}
