/// A shell-style pattern over dotted names (`down_blocks.0.resnets.1.conv1.weight`).
///
/// The pattern and the name are split at dots and matched component by component:
/// - `*` matches any run of characters inside one component (`attn*` matches `attn1`, `attn2`);
/// - `?` matches one character inside one component;
/// - a component that is exactly `**` matches any number of whole components, zero included;
/// - every other character matches itself.
///
/// With `prefix: true` a name also matches when it starts with a match that ends at a component
/// boundary, so a pattern naming a module selects every parameter under it (the Models layer
/// uses this: `up_blocks.*` selects `up_blocks.0.resnets.0.conv1.weight`).
///
///     NameGlob("down_blocks.*.attentions.*.transformer_blocks.*.attn2").matches(
///         "down_blocks.1.attentions.0.transformer_blocks.0.attn2")          // true
///     NameGlob("unet.*").matches("unet.conv_in.weight")                     // false: one component
///     NameGlob("unet.**").matches("unet.conv_in.weight")                    // true
///     NameGlob("**.bias").matches("conv_in.bias")                           // true
public struct NameGlob: Equatable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The pattern as written.
    public let pattern: String
    private let components: [Substring]

    public init(_ pattern: String) {
        self.pattern = pattern
        components = pattern.split(separator: ".", omittingEmptySubsequences: false)
    }

    public init(stringLiteral pattern: String) { self.init(pattern) }

    public var description: String { pattern }

    /// Whether `name` matches the whole pattern (or starts with a match, when `prefix`).
    public func matches(_ name: String, prefix: Bool = false) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        // memo[i][j]: pattern components i... against name components j...; nil = not yet known.
        var memo = [[Bool?]](repeating: [Bool?](repeating: nil, count: parts.count + 1), count: components.count + 1)
        func match(_ i: Int, _ j: Int) -> Bool {
            if let known = memo[i][j] { return known }
            let result: Bool
            if i == components.count {
                result = j == parts.count || prefix
            } else if components[i] == "**" {
                result = match(i + 1, j) || (j < parts.count && match(i, j + 1))
            } else {
                result = j < parts.count && NameGlob.matchComponent(Array(components[i].utf8), Array(parts[j].utf8))
                    && match(i + 1, j + 1)
            }
            memo[i][j] = result
            return result
        }
        return match(0, 0)
    }

    /// `*` / `?` wildcard match of one component (UTF-8 bytes; `?` is one byte, so use it for ASCII).
    private static func matchComponent(_ pattern: [UInt8], _ text: [UInt8]) -> Bool {
        let star = UInt8(ascii: "*"), question = UInt8(ascii: "?")
        var (p, t) = (0, 0)
        var backtrack: (pattern: Int, text: Int)? = nil
        while t < text.count {
            if p < pattern.count && (pattern[p] == question || pattern[p] == text[t]) && pattern[p] != star {
                p += 1
                t += 1
            } else if p < pattern.count && pattern[p] == star {
                backtrack = (p, t)
                p += 1
            } else if let (starAt, textAt) = backtrack {
                // Let the last `*` swallow one more character and retry.
                p = starAt + 1
                t = textAt + 1
                backtrack = (starAt, textAt + 1)
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == star { p += 1 }
        return p == pattern.count
    }
}
