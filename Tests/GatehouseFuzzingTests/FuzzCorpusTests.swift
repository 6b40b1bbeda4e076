import Foundation
import GatehouseFuzzing
import Testing

/// Every fuzz target on its committed seeds and on every input that once made it fail
/// (`Tests/Fuzz/TARGET/seeds` and `Tests/Fuzz/TARGET/regressions`): a fix stays fixed.
@Suite("Fuzz corpus")
struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func inputs(of target: String) -> [URL] {
        ["seeds", "regressions"].flatMap { folder -> [URL] in
            let directory = root.appendingPathComponent(target).appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
        }
    }

    @Test(arguments: FuzzTargets.all.map(\.name))
    func everySeedAndRegressionPasses(target name: String) throws {
        let target = try #require(FuzzTargets.named(name))
        let inputs = Self.inputs(of: name)
        #expect(inputs.count >= 3, "Tests/Fuzz/\(name)/seeds needs seeds")
        for input in inputs { target.run(Array(try Data(contentsOf: input))) }
    }

    @Test func everyCorpusFolderNamesATarget() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.root.path).filter { !$0.hasPrefix(".") && $0 != "README.md" }
        #expect(Set(folders) == Set(FuzzTargets.all.map(\.name)))
    }
}
