import Foundation
@testable import Language

/// Runs `text` in a fresh interpreter; returns what it printed and the error it stopped with.
func runScript(_ text: String, name: String = "test.snp", interpreter: Interpreter? = nil) -> (output: String, error: LanguageError?) {
    let interpreter = interpreter ?? Interpreter()
    var output = ""
    interpreter.output = { output += $0 }
    interpreter.diagnostics = { _ in }
    do {
        try interpreter.run(text, name: name)
        return (output, nil)
    } catch let error as LanguageError {
        return (output, error)
    } catch {
        return (output + "UNEXPECTED \(type(of: error)): \(error)", nil)
    }
}

/// A fresh folder under the temporary directory.
func scratchFolder(_ name: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("snoopi-\(name)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The repository root (for Docs/language.md and the snp binary's neighbours).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The JSON object a command wrote to `path` (`snp eval --json`, …); nil when it is not an object.
func jsonObject(at path: String) throws -> [String: Any]? {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
}
