import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The key under which per-address limits count a peer: an IPv4 address as it is, an IPv6
/// address by its /64 prefix (one host usually owns a whole /64, so counting single IPv6
/// addresses would let it pick a fresh one for every request).
public enum ClientAddress {
    public static func limitKey(_ address: String) -> String {
        var v6 = in6_addr()
        let bare = address.split(separator: "%").first.map(String.init) ?? address
        guard bare.contains(":"), inet_pton(AF_INET6, bare, &v6) == 1 else { return address }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return bytes[12..<16].map(String.init).joined(separator: ".")  // IPv4-mapped
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}
