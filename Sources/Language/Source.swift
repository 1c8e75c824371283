/// A piece of `.snp` text with a name for messages (a file path, `<stdin>`, `<repl>`).
/// Shared by every token and AST node made from it, so an error can quote its line.
public final class Source {
    public let name: String
    public let text: String
    /// The text as Unicode scalars, what the lexer walks.
    let scalars: [Unicode.Scalar]
    /// The lines of the text, without their line breaks.
    public let lines: [Substring]

    public init(name: String, text: String) {
        self.name = name
        self.text = text
        scalars = Array(text.unicodeScalars)
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// Line `number` (1-based), or "" past the end.
    public func line(_ number: Int) -> Substring {
        number >= 1 && number <= lines.count ? lines[number - 1] : ""
    }
}

/// Where a token or a node starts: 1-based line and column (columns count Unicode scalars).
public struct SourceLocation: CustomStringConvertible {
    public let source: Source
    public let line: Int
    public let column: Int

    public init(source: Source, line: Int, column: Int) {
        self.source = source
        self.line = line
        self.column = column
    }

    /// `FILE:LINE:COL`.
    public var description: String { "\(source.name):\(line):\(column)" }
}
