/// Every mistake a caller can make with a model: a thrown error with a readable message.
public enum ModelError: Error, CustomStringConvertible {
    /// Loading found missing, unexpected and wrongly shaped tensors (all reported together).
    case loadMismatch(missing: [String], unexpected: [String], mismatched: [(name: String, expected: [Int], actual: [Int])])
    /// A checkpoint made for another architecture.
    case wrongArchitecture(expected: String, found: String)
    /// A config key we do not know, or a value we cannot build.
    case badConfig(architecture: String, reason: String)
    /// A forward call with inputs of the wrong shape or kind.
    case invalidInput(model: String, reason: String)
    /// A name pattern that selected nothing.
    case noMatch(pattern: String, what: String)
    /// A tokenizer file that cannot be read, or describes a tokenizer Snoopi does not build.
    case badTokenizer(path: String, reason: String)

    public var description: String {
        switch self {
        case let .loadMismatch(missing, unexpected, mismatched):
            var lines = ["checkpoint does not fit the model:"]
            func list(_ title: String, _ names: [String]) {
                guard !names.isEmpty else { return }
                let shown = names.prefix(10).joined(separator: ", ")
                lines.append("  \(names.count) \(title): \(shown)\(names.count > 10 ? ", …" : "")")
            }
            list("missing", missing)
            list("unexpected", unexpected)
            if !mismatched.isEmpty {
                let shown = mismatched.prefix(10).map { "\($0.name) (model \(shapeText($0.expected)), checkpoint \(shapeText($0.actual)))" }
                lines.append("  \(mismatched.count) with another shape: " + shown.joined(separator: ", ") + (mismatched.count > 10 ? ", …" : ""))
            }
            return lines.joined(separator: "\n")
        case let .wrongArchitecture(expected, found):
            return "the checkpoint holds a \(found), not a \(expected)"
        case let .badConfig(architecture, reason):
            return "\(architecture) config: \(reason)"
        case let .invalidInput(model, reason):
            return "\(model): \(reason)"
        case let .noMatch(pattern, what):
            return "no \(what) matches \"\(pattern)\""
        case let .badTokenizer(path, reason):
            return "tokenizer \(path): \(reason)"
        }
    }
}

func shapeText(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ",") + "]" }
