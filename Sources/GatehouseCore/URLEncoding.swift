import Foundation

/// Percent-encoding for URL queries and `application/x-www-form-urlencoded` bodies.
///
/// Everything but the RFC 3986 §2.3 unreserved characters (ASCII letters and digits, `-._~`)
/// is encoded as UTF-8 bytes, so values may contain anything, non-ASCII text included.
public enum URLEncoding {
    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// `value` as a query component: spaces as `%20`.
    public static func component(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    /// `value` form-encoded (RFC 6749 Appendix B): spaces as `+`.
    public static func form(_ value: String) -> String {
        component(value).replacingOccurrences(of: "%20", with: "+")
    }

    /// `name=value&…` for a URL query.
    public static func query(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(component($0.0))=\(component($0.1))" }.joined(separator: "&")
    }

    /// `name=value&…` for an `application/x-www-form-urlencoded` body.
    public static func formBody(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(form($0.0))=\(form($0.1))" }.joined(separator: "&")
    }
}
