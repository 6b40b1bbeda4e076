import Foundation
import GatehouseFuzzing

#if FUZZING
/// libFuzzer's loop (built by `scripts/fuzz.sh` with `-sanitize=fuzzer -DFUZZING`): the package's
/// executable keeps its own entry point, which hands the arguments to libFuzzer's driver; the
/// target is the one `GATEHOUSE_FUZZ_TARGET` names.
@main
struct FuzzDriver {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        _ = FuzzSelection.target
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
    }
}

/// libFuzzer's entry point for a driver of one's own (compiler-rt's FuzzerDriver.cpp); only simple
/// C types cross, which Swift passes as C does.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// One input, as libFuzzer calls it.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzSelection.target.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

enum FuzzSelection {
    static let target: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["GATEHOUSE_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTargets.named(name) else {
            fatalError("set GATEHOUSE_FUZZ_TARGET to one of: \(FuzzTargets.all.map(\.name).joined(separator: ", "))")
        }
        return target
    }()
}
#else
/// `gatehouse-fuzz list`, or `gatehouse-fuzz replay TARGET PATH...`: runs each file (or each
/// file in each directory) through the target, as the test suite does with `Tests/Fuzz/`.
@main
struct FuzzDriver {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        switch arguments.first {
        case "list":
            for target in FuzzTargets.all { print("\(target.name)\t\(target.summary)") }
        case "replay" where arguments.count >= 3:
            guard let target = FuzzTargets.named(arguments[1]) else {
                fail("unknown target \(arguments[1]); `gatehouse-fuzz list` shows them")
            }
            var count = 0
            for path in arguments.dropFirst(2) {
                for file in files(at: path) {
                    guard let data = FileManager.default.contents(atPath: file) else { fail("cannot read \(file)") }
                    target.run(Array(data))
                    count += 1
                }
            }
            print("\(target.name): \(count) inputs replayed")
        default:
            fail("usage: gatehouse-fuzz list | gatehouse-fuzz replay TARGET FILE_OR_DIRECTORY...")
        }
    }

    static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { fail("\(path) does not exist") }
        guard isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { (path as NSString).appendingPathComponent($0) }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("gatehouse-fuzz: \(message)\n".utf8))
        exit(64)
    }
}
#endif
