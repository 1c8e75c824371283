/// Every builtin, by domain. `Builtins.domains` lists the domains this layer provides; a layer
/// above can `register` more (e.g. diffusion, distillation) before running scripts.
public final class BuiltinRegistry {
    public private(set) var domains: [BuiltinDomain] = []
    private var byName: [String: Builtin] = [:]

    public init(domains: [BuiltinDomain]) {
        for d in domains { register(d) }
    }

    /// Everything `Builtins.domains` holds.
    public static func standard() -> BuiltinRegistry { BuiltinRegistry(domains: Builtins.domains) }

    /// Adds a domain. Two builtins of one name are a programming mistake.
    public func register(_ domain: BuiltinDomain) {
        for b in domain.builtins {
            precondition(byName[b.name] == nil, "builtin \(b.name) registered twice")
            byName[b.name] = b
        }
        domains.append(domain)
    }

    public subscript(name: String) -> Builtin? { byName[name] }

    /// Every builtin name, sorted (completion).
    public var names: [String] { byName.keys.sorted() }

    /// The help text of one builtin: signature, doc, example.
    public func help(_ name: String) -> String? {
        guard let b = byName[name] else { return nil }
        var text = b.signature.text(name: b.name) + "\n\n" + b.doc
        if !b.example.isEmpty { text += "\n\nexample:\n" + b.example.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n") }
        if b.isMethod { text += "\n\nAlso a method: x.\(b.name)(…) is \(b.name)(x, …)." }
        return text
    }

    /// `help()`: the domains and their builtins.
    public func overview() -> String {
        var lines = ["Builtins by domain; help(\"name\") tells more."]
        for d in domains {
            lines.append("")
            lines.append("\(d.name): \(d.doc)")
            lines.append(contentsOf: wrap(d.builtins.map(\.name).joined(separator: " "), width: 90).map { "  " + $0 })
        }
        return lines.joined(separator: "\n")
    }

    private func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + word.count + 1 > width { lines.append(line); line = "" }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}
