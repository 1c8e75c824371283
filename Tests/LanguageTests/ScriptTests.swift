import Foundation
import Testing
@testable import Language

/// Every `.snp` file under Scripts/ runs, and prints exactly its `# expect: TEXT` lines in order.
/// A `# expect error: TEXT` line means the script must stop with an error containing TEXT
/// (after printing the expected lines before it).
@Suite("Language scripts", .serialized)
struct ScriptTests {
    static var scripts: [String] {
        guard let folder = Bundle.module.url(forResource: "Scripts", withExtension: nil),
              let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        return names.filter { $0.hasSuffix(".snp") }.sorted()
    }

    @Test func scriptsAreThere() {
        #expect(ScriptTests.scripts.count >= 8)
    }

    @Test(arguments: ScriptTests.scripts)
    func script(_ name: String) throws {
        let folder = try #require(Bundle.module.url(forResource: "Scripts", withExtension: nil))
        let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        var expected: [String] = []
        var expectedError: String? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let range = trimmed.range(of: "# expect error: ") {
                expectedError = String(trimmed[range.upperBound...])
            } else if let range = trimmed.range(of: "# expect: ") {
                expected.append(String(trimmed[range.upperBound...]))
            } else if trimmed.hasSuffix("# expect:") {
                expected.append("")
            }
        }
        // args[0]: the repository root, where the shipped checkpoints are.
        let interpreter = Interpreter(arguments: [repositoryRoot.path])
        interpreter.pictureDirectory = try scratchFolder("script-pictures")
        let (output, error) = runScript(text, name: name, interpreter: interpreter)
        let printed = output.isEmpty ? [] : output.split(separator: "\n", omittingEmptySubsequences: false).dropLast(output.hasSuffix("\n") ? 1 : 0).map(String.init)
        #expect(printed == expected, "\(name): output differs")
        if let expectedError {
            #expect(error?.message.contains(expectedError) == true, "\(name): expected error containing '\(expectedError)', got \(error.map(String.init(describing:)) ?? "none")")
        } else {
            #expect(error == nil, "\(name): \(error.map(String.init(describing:)) ?? "")")
        }
    }
}
