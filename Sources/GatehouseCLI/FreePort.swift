#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A port the kernel says is free on a host now, for `--port 0`: the server's public URLs (the
/// issuer, the resource, its callbacks) name the port it listens on, and they are made before it
/// listens. Another process could take the port in between; the start then fails saying the
/// port is in use.
enum FreePort {
    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    static func pick(host: String) throws -> Int {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, "0", &hints, &found) == 0, let address = found else {
            throw Unavailable(description: "cannot resolve \(host) to pick a free port")
        }
        defer { freeaddrinfo(found) }
        let descriptor = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
        guard descriptor >= 0 else { throw Unavailable(description: "cannot open a socket to pick a free port") }
        defer { close(descriptor) }
        guard bind(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            throw Unavailable(description: "cannot bind to \(host) to pick a free port")
        }
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw Unavailable(description: "cannot read the port picked on \(host)") }
        let networkOrder: UInt16 =
            switch Int32(bound.ss_family) {
            case AF_INET6: withUnsafePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port } }
            default: withUnsafePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port } }
            }
        return Int(UInt16(bigEndian: networkOrder))
    }
}
