/// Shell-style patterns over dotted parameter names, as users write them to pick layers:
/// `down_blocks.*.attentions.*.transformer_blocks.*.attn2`.
///
/// `*` matches within one dotted component (any characters but `.`), `**` matches any number of
/// whole components (including none), `?` one character; everything else matches itself.
/// A pattern matches a name exactly, or as a prefix ending at a component boundary when
/// `prefix` is true (so `up_blocks.*` selects every parameter under the up blocks).
public struct NameGlob: CustomStringConvertible, Sendable {
    public let pattern: String
    private let components: [Substring]

    public init(_ pattern: String) {
        self.pattern = pattern
        components = pattern.split(separator: ".", omittingEmptySubsequences: false)
    }

    public var description: String { pattern }

    /// Whether `name` matches the whole pattern (or starts with a match, when `prefix`).
    public func matches(_ name: String, prefix: Bool = false) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return match(components[...], parts[...], prefix: prefix)
    }

    private func match(_ pattern: ArraySlice<Substring>, _ name: ArraySlice<Substring>, prefix: Bool) -> Bool {
        guard let head = pattern.first else { return name.isEmpty || prefix }
        if head == "**" {
            let rest = pattern.dropFirst()
            for skip in 0...name.count where match(rest, name.dropFirst(skip), prefix: prefix) { return true }
            return false
        }
        guard let part = name.first, NameGlob.componentMatches(head, part) else { return false }
        return match(pattern.dropFirst(), name.dropFirst(), prefix: prefix)
    }

    /// `*` and `?` within one component.
    static func componentMatches(_ pattern: Substring, _ text: Substring) -> Bool {
        let p = Array(pattern), t = Array(text)
        var memo = [[Bool?]](repeating: [Bool?](repeating: nil, count: t.count + 1), count: p.count + 1)
        func go(_ i: Int, _ j: Int) -> Bool {
            if let known = memo[i][j] { return known }
            let result: Bool
            if i == p.count { result = j == t.count }
            else if p[i] == "*" { result = go(i + 1, j) || (j < t.count && go(i, j + 1)) }
            else { result = j < t.count && (p[i] == "?" || p[i] == t[j]) && go(i + 1, j + 1) }
            memo[i][j] = result
            return result
        }
        return go(0, 0)
    }
}
