/// Turns `.snp` text into tokens. `#` starts a comment to the end of the line. Line breaks
/// become `.newline` tokens (the parser ignores them inside brackets). Strings take `\n \t \\ \"
/// \{ \}` escapes and `{expr}` / `{expr:.3f}` interpolations, and may span lines.
struct Lexer {
    let source: Source
    private let text: [Unicode.Scalar]
    private var position: Int
    private let endPosition: Int
    private var line: Int
    private var column = 1

    /// Lexes `source`, or the part of it from line `firstLine` (1-based) up to, not including,
    /// line `endLine` — a notebook cell keeps the line numbers of its file.
    init(_ source: Source, firstLine: Int = 1, endLine: Int? = nil) {
        self.source = source
        let scalars = source.scalars
        text = scalars
        line = firstLine
        position = Lexer.offset(ofLine: firstLine, in: scalars)
        endPosition = endLine.map { Lexer.offset(ofLine: $0, in: scalars) } ?? scalars.count
    }

    private static func offset(ofLine target: Int, in text: [Unicode.Scalar]) -> Int {
        var line = 1, i = 0
        while line < target && i < text.count {
            if text[i] == "\n" { line += 1 }
            i += 1
        }
        return i
    }

    /// Every token up to and including `.end`.
    mutating func tokens() throws -> [Token] {
        var out: [Token] = []
        while true {
            let token = try next()
            out.append(token)
            if token.kind == .end { return out }
        }
    }

    // MARK: - Characters

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        position + ahead < endPosition ? text[position + ahead] : nil
    }

    @discardableResult
    private mutating func advance() -> Unicode.Scalar {
        let c = text[position]
        position += 1
        if c == "\n" { line += 1; column = 1 } else { column += 1 }
        return c
    }

    private var here: SourceLocation { SourceLocation(source: source, line: line, column: column) }

    private func error(_ message: String, at location: SourceLocation, incomplete: Bool = false) -> LanguageError {
        LanguageError(.syntax(incomplete: incomplete), message, at: location)
    }

    // MARK: - Tokens

    /// The next token; with `inInterpolation`, line breaks are skipped like spaces.
    private mutating func next(inInterpolation: Bool = false) throws -> Token {
        skipSpaceAndComments(skippingNewlines: inInterpolation)
        let start = here
        guard let c = peek() else { return Token(kind: .end, location: start) }
        if c == "\n" {
            advance()
            return Token(kind: .newline, location: start)
        }
        if ("0"..."9").contains(c) { return try number(start) }
        if Lexer.isIdentifierStart(c) {
            var name = ""
            while let d = peek(), Lexer.isIdentifierPart(d) { name.unicodeScalars.append(advance()) }
            if let keyword = Keyword(rawValue: name) { return Token(kind: .keyword(keyword), location: start) }
            return Token(kind: .identifier(name), location: start)
        }
        if c == "\"" { return try string(start) }
        // Longest symbol first: "..<" before "..." before "." etc.
        for length in (1...3).reversed() {
            guard position + length <= endPosition else { continue }
            var spelling = ""
            spelling.unicodeScalars.append(contentsOf: text[position..<(position + length)])
            if let symbol = Symbol(rawValue: spelling) {
                for _ in 0..<length { advance() }
                return Token(kind: .symbol(symbol), location: start)
            }
        }
        if c == "." && peek(1) == "." {
            throw error("unexpected '..'; ranges are written a..<b or a...b", at: start)
        }
        throw error("unexpected character '\(c.escaped(asASCII: false))'", at: start)
    }

    private mutating func skipSpaceAndComments(skippingNewlines: Bool) {
        while let c = peek() {
            if c == " " || c == "\t" || c == "\r" || (skippingNewlines && c == "\n") {
                advance()
            } else if c == "#" {
                while let d = peek(), d != "\n" { advance() }
            } else if c == "\\" && (peek(1) == "\n" || (peek(1) == "\r" && peek(2) == "\n")) {
                // A backslash at the end of a line continues the statement on the next one.
                advance()
                while peek() != "\n" { advance() }
                advance()
            } else {
                return
            }
        }
    }

    static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
        c == "_" || (c.properties.isAlphabetic && !(("0"..."9").contains(c)))
    }

    static func isIdentifierPart(_ c: Unicode.Scalar) -> Bool {
        c == "_" || c.properties.isAlphabetic || ("0"..."9").contains(c)
    }

    private mutating func digits() -> String {
        var s = ""
        while let d = peek(), ("0"..."9").contains(d) { s.unicodeScalars.append(advance()) }
        return s
    }

    private mutating func number(_ start: SourceLocation) throws -> Token {
        var spelling = digits()
        // "1.5" is a number, "0..<3" a range, "x.0" is not ours to worry about.
        if peek() == ".", let d = peek(1), ("0"..."9").contains(d) {
            spelling.unicodeScalars.append(advance())
            spelling += digits()
        }
        if let e = peek(), e == "e" || e == "E" {
            let sign = peek(1)
            let signed = sign == "+" || sign == "-"
            if let d = peek(signed ? 2 : 1), ("0"..."9").contains(d) {
                spelling.unicodeScalars.append(advance())
                if signed { spelling.unicodeScalars.append(advance()) }
                spelling += digits()
            } else {
                throw error("malformed number: exponent needs digits", at: start)
            }
        }
        if let c = peek(), Lexer.isIdentifierStart(c) {
            throw error("malformed number: '\(spelling)' is followed by '\(c)'", at: start)
        }
        guard let value = Double(spelling) else { throw error("malformed number '\(spelling)'", at: start) }
        return Token(kind: .number(value), location: start)
    }

    private mutating func string(_ start: SourceLocation) throws -> Token {
        advance()  // opening quote
        var parts: [StringPart] = []
        var text = ""
        while true {
            guard let c = peek() else {
                throw error("unterminated string", at: start, incomplete: true)
            }
            if c == "\"" { advance(); break }
            if c == "\\" {
                let escapeStart = here
                advance()
                guard let e = peek() else { throw error("unterminated string", at: start, incomplete: true) }
                advance()
                switch e {
                case "n": text += "\n"
                case "t": text += "\t"
                case "\\": text += "\\"
                case "\"": text += "\""
                case "{": text += "{"
                case "}": text += "}"
                case "\n": break  // a backslash-newline joins lines
                default: throw error("unknown escape '\\\(e)' (use \\n \\t \\\\ \\\" \\{ \\})", at: escapeStart)
                }
                continue
            }
            if c == "{" {
                if !text.isEmpty { parts.append(.text(text)); text = "" }
                parts.append(try interpolation())
                continue
            }
            if c == "}" {
                throw error("unmatched '}' in a string; write \\} for a brace", at: here)
            }
            text.unicodeScalars.append(advance())
        }
        if !text.isEmpty || parts.isEmpty { parts.append(.text(text)) }
        return Token(kind: .string(parts), location: start)
    }

    /// `{expr}` or `{expr:spec}` inside a string; the position is at `{`.
    private mutating func interpolation() throws -> StringPart {
        let open = here
        advance()
        var tokens: [Token] = []
        var depth = 0
        var format: String? = nil
        while true {
            skipSpaceAndComments(skippingNewlines: true)
            guard let c = peek() else { throw error("unterminated '{' in a string", at: open, incomplete: true) }
            if depth == 0 && c == "}" { advance(); break }
            if depth == 0 && c == ":" {
                advance()
                var spec = ""
                while let d = peek(), d != "}" , d != "\"", d != "\n" { spec.unicodeScalars.append(advance()) }
                guard peek() == "}" else { throw error("unterminated format in '{…:…}'", at: open, incomplete: peek() == nil) }
                advance()
                format = spec
                break
            }
            let token = try next(inInterpolation: true)
            switch token.kind {
            case .symbol(.leftParen), .symbol(.leftBracket), .symbol(.leftBrace): depth += 1
            case .symbol(.rightParen), .symbol(.rightBracket), .symbol(.rightBrace): depth -= 1
            case .end: throw error("unterminated '{' in a string", at: open, incomplete: true)
            default: break
            }
            tokens.append(token)
        }
        guard !tokens.isEmpty else { throw error("empty '{}' in a string; write \\{\\} for braces", at: open) }
        tokens.append(Token(kind: .end, location: here))
        return .interpolation(tokens: tokens, format: format)
    }
}

/// `3`, `0.25`, `1e-05`: integers without a decimal point, others as Swift's shortest form.
func formatNumber(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    if x == x.rounded(), Swift.abs(x) < 1e15 { return String(Int64(x)) }
    return "\(x)"
}
