import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files that hold store data or secrets: created readable and writable by their owner only
/// (0600), whatever the mode of their folder or the process umask, and narrowed to 0600 when
/// found wider.
public enum OwnerOnlyFile {
    /// Creates `path` empty with mode 0600 when it does not exist, and narrows it to 0600
    /// when it does. With `exclusive`, an existing file is an error instead.
    public static func create(_ path: String, exclusive: Bool = false) throws(FileProblem) {
        close(try openForWriting(path, exclusive: exclusive))
    }

    /// Narrows `path` to mode 0600 if it exists.
    public static func restrict(_ path: String) throws(FileProblem) {
        guard chmod(path, 0o600) == 0 || errno == ENOENT else { throw FileProblem(path: path, action: "restrict", code: errno) }
    }

    /// Writes `data` to `path`, which must not exist yet, as a 0600 file.
    public static func write(_ data: Data, toNew path: String) throws(FileProblem) {
        let descriptor = try openForWriting(path, exclusive: true)
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { bytes in
            #if canImport(Glibc)
            Glibc.write(descriptor, bytes.baseAddress, bytes.count)
            #else
            Darwin.write(descriptor, bytes.baseAddress, bytes.count)
            #endif
        }
        guard written == data.count else { throw FileProblem(path: path, action: "write", code: errno) }
    }

    private static func openForWriting(_ path: String, exclusive: Bool) throws(FileProblem) -> Int32 {
        let descriptor = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | (exclusive ? O_EXCL : 0), 0o600)
        guard descriptor >= 0 else { throw FileProblem(path: path, action: "create", code: errno) }
        // An existing file keeps its mode through open(2); narrow it.
        guard fchmod(descriptor, 0o600) == 0 else {
            let code = errno
            close(descriptor)
            throw FileProblem(path: path, action: "restrict", code: code)
        }
        return descriptor
    }
}

/// A file that could not be created, written or narrowed.
public struct FileProblem: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let action: String
    /// The `errno` of the failed call.
    public let code: Int32

    public init(path: String, action: String, code: Int32) {
        self.path = path
        self.action = action
        self.code = code
    }

    public var description: String { "cannot \(action) \(path): \(String(cString: strerror(code)))" }
}
