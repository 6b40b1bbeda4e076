import Foundation
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Server-side request forgery guard for URLs that users choose (Client ID Metadata
/// Documents, the hub's `http_fetch` tool): their host must resolve only to public addresses.
///
/// CIMD (draft-ietf-oauth-client-id-metadata-document, "Server-Side Request Forgery"): a
/// server that fetches a URL an untrusted party names must not become a way into loopback,
/// private, link-local or other internal networks.
public enum AddressPolicy {
    /// The addresses `host` resolves to, as text, or `nil` when it does not resolve. The system
    /// resolver blocks, so it runs on NIO's blocking thread pool, never on a request's thread.
    public static func resolve(_ host: String) async -> [String]? {
        (try? await NIOThreadPool.singleton.runIfActive { resolveBlocking(host) }) ?? nil
    }

    private static func resolveBlocking(_ host: String) -> [String]? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(entry.pointee.ai_addr, entry.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
                addresses.append(String(decoding: text, as: UTF8.self))
            }
            cursor = entry.pointee.ai_next
        }
        return addresses
    }

    /// True for an address on the public internet; false for loopback, private (RFC 1918,
    /// RFC 4193), link-local, CGNAT, unspecified, multicast, documentation and IPv4-mapped
    /// forms of those.
    public static func isPublic(_ address: String) -> Bool {
        if let v4 = ipv4(address) { return isPublicIPv4(v4) }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address.split(separator: "%").first.map(String.init) ?? address, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return isPublicIPv4(Array(bytes[12..<16]))  // ::ffff:a.b.c.d
        }
        if bytes.allSatisfy({ $0 == 0 }) { return false }  // ::
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return false }  // ::1
        if bytes[0] & 0xfe == 0xfc { return false }  // fc00::/7 unique local
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 { return false }  // fe80::/10 link-local
        if bytes[0] == 0xff { return false }  // multicast
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8 { return false }  // 2001:db8::/32
        return true
    }

    private static func ipv4(_ address: String) -> [UInt8]? {
        var v4 = in_addr()
        guard inet_pton(AF_INET, address, &v4) == 1 else { return nil }
        return withUnsafeBytes(of: v4) { Array($0) }
    }

    private static func isPublicIPv4(_ b: [UInt8]) -> Bool {
        switch (b[0], b[1]) {
        case (0, _), (10, _), (127, _), (169, 254), (192, 168), (224...255, _): return false
        case (172, 16...31), (100, 64...127), (198, 18...19): return false
        case (192, 0) where b[2] == 0 || b[2] == 2: return false
        case (198, 51) where b[2] == 100, (203, 0) where b[2] == 113: return false
        default: return true
        }
    }
}

extension AddressPolicy {
    /// Why `host` may not be fetched, or `nil` when every address it resolves to is public.
    public static func refusal(forHost host: String) async -> String? {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        guard let addresses = await resolve(bare), !addresses.isEmpty else { return "\(bare.prefix(80)) does not resolve" }
        guard addresses.allSatisfy(isPublic) else {
            return "\(bare.prefix(80)) resolves to a private or loopback address, which is refused"
        }
        return nil
    }
}
