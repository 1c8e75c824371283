/// A command's arguments: `--name value` options, `--flag` switches, positional words.
struct Arguments {
    private(set) var positional: [String] = []
    private var options: [String: String] = [:]
    private var repeated: [String: [String]] = [:]
    private var flags: Set<String> = []
    private var used: Set<String> = []

    /// `valued` lists the options that take a value; any other `--word` is a switch.
    /// `repeatable` options may be given several times (read them with `values`).
    init(_ words: [String], valued: Set<String>, repeatable: Set<String> = []) throws {
        var rest = words[...]
        while let word = rest.popFirst() {
            if word.hasPrefix("--") {
                let name = String(word.dropFirst(2))
                if repeatable.contains(name) {
                    guard let value = rest.popFirst() else { throw UsageError(message: "--\(name) needs a value") }
                    repeated[name, default: []].append(value)
                } else if valued.contains(name) {
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

    /// Every value of a repeatable option, in order.
    mutating func values(_ name: String) -> [String] { used.insert(name); return repeated[name] ?? [] }

    mutating func required(_ name: String) throws -> String {
        guard let v = value(name) else { throw UsageError(message: "--\(name) is required") }
        return v
    }

    mutating func float(_ name: String) throws -> Float? {
        guard let text = value(name) else { return nil }
        guard let v = Float(text) else { throw UsageError(message: "--\(name) must be a number, got '\(text)'") }
        return v
    }

    /// An integer option of at least `minimum`, or `fallback` when absent.
    mutating func integer(_ name: String, _ fallback: Int, minimum: Int = 0) throws -> Int {
        guard let text = value(name) else { return fallback }
        guard let v = Int(text), v >= minimum else { throw UsageError(message: "--\(name) must be an integer ≥ \(minimum), got '\(text)'") }
        return v
    }

    /// A comma-separated list of integers in `range` (`--seeds 0,1,2`), or nil when absent.
    mutating func integers(_ name: String, in range: ClosedRange<Int>) throws -> [Int]? {
        guard let text = value(name) else { return nil }
        return try text.split(separator: ",", omittingEmptySubsequences: false).map { word in
            guard let v = Int(word.trimmingCharacters(in: .whitespaces)), range.contains(v) else {
                throw UsageError(message: "--\(name): each must be an integer in \(range.lowerBound)…\(range.upperBound), got '\(word)'")
            }
            return v
        }
    }

    mutating func flag(_ name: String) -> Bool { used.insert(name); return flags.contains(name) }

    /// Rejects options and switches nobody asked for (typos).
    func finish(positionalCount: ClosedRange<Int>) throws {
        let unknown = Set(options.keys).union(flags).union(repeated.keys).subtracting(used)
        if let first = unknown.sorted().first { throw UsageError(message: "unknown option --\(first)") }
        guard positionalCount.contains(positional.count) else {
            throw UsageError(message: "expected \(positionalCount.lowerBound == positionalCount.upperBound ? "\(positionalCount.lowerBound)" : "\(positionalCount.lowerBound)–\(positionalCount.upperBound)") argument(s), got \(positional.count)")
        }
    }
}
