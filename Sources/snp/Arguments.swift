/// A command's arguments: `--name value` options, `--flag` switches, positional words.
struct Arguments {
    private(set) var positional: [String] = []
    private var options: [String: String] = [:]
    private var flags: Set<String> = []
    private var used: Set<String> = []

    /// `valued` lists the options that take a value; any other `--word` is a switch.
    init(_ words: [String], valued: Set<String>) throws {
        var rest = words[...]
        while let word = rest.popFirst() {
            if word.hasPrefix("--") {
                let name = String(word.dropFirst(2))
                if valued.contains(name) {
                    guard let value = rest.popFirst() else { throw UsageError(message: "--\(name) needs a value") }
                    options[name] = value
                } else {
                    flags.insert(name)
                }
            } else {
                positional.append(word)
            }
        }
    }

    mutating func value(_ name: String) -> String? { used.insert(name); return options[name] }

    mutating func required(_ name: String) throws -> String {
        guard let v = value(name) else { throw UsageError(message: "--\(name) is required") }
        return v
    }

    mutating func float(_ name: String) throws -> Float? {
        guard let text = value(name) else { return nil }
        guard let v = Float(text) else { throw UsageError(message: "--\(name) must be a number, got '\(text)'") }
        return v
    }

    mutating func flag(_ name: String) -> Bool { used.insert(name); return flags.contains(name) }

    /// Rejects options and switches nobody asked for (typos).
    func finish(positionalCount: ClosedRange<Int>) throws {
        let unknown = Set(options.keys).union(flags).subtracting(used)
        if let first = unknown.sorted().first { throw UsageError(message: "unknown option --\(first)") }
        guard positionalCount.contains(positional.count) else {
            throw UsageError(message: "expected \(positionalCount.lowerBound == positionalCount.upperBound ? "\(positionalCount.lowerBound)" : "\(positionalCount.lowerBound)–\(positionalCount.upperBound)") argument(s), got \(positional.count)")
        }
    }
}
