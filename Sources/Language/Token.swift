/// One lexical unit of `.snp` text and where it starts.
public struct Token: CustomStringConvertible {
    public let kind: TokenKind
    public let location: SourceLocation

    public var description: String { kind.description }
}

/// The kinds of token. Operators and punctuation are spelled as they are written.
public enum TokenKind: Equatable, CustomStringConvertible {
    case number(Double)
    /// A string literal: text pieces and `{expr}` interpolations.
    case string([StringPart])
    case identifier(String)
    case keyword(Keyword)
    case symbol(Symbol)
    /// A line break outside brackets: the end of a statement.
    case newline
    case end

    public var description: String {
        switch self {
        case .number(let x): return "number \(formatNumber(x))"
        case .string: return "string"
        case .identifier(let name): return "'\(name)'"
        case .keyword(let k): return "'\(k.rawValue)'"
        case .symbol(let s): return "'\(s.rawValue)'"
        case .newline: return "end of line"
        case .end: return "end of input"
        }
    }
}

/// A piece of a string literal.
public enum StringPart: Equatable {
    case text(String)
    /// `{expr}` or `{expr:.3f}`: the expression's tokens (ending with `.end`) and the format.
    case interpolation(tokens: [Token], format: String?)

    public static func == (a: StringPart, b: StringPart) -> Bool {
        switch (a, b) {
        case let (.text(x), .text(y)): return x == y
        case let (.interpolation(x, f), .interpolation(y, g)): return f == g && x.map(\.kind) == y.map(\.kind)
        default: return false
        }
    }
}

public enum Keyword: String, CaseIterable {
    case `let`, fn, `return`, `if`, `else`, `for`, `in`, `while`, `break`, `continue`
    case `true`, `false`, `nil`, and, or, not
}

public enum Symbol: String, CaseIterable {
    case leftParen = "(", rightParen = ")", leftBracket = "[", rightBracket = "]"
    case leftBrace = "{", rightBrace = "}"
    case comma = ",", colon = ":", semicolon = ";", dot = "."
    case halfOpenRange = "..<", closedRange = "..."
    case plus = "+", minus = "-", star = "*", slash = "/", percent = "%", power = "**", at = "@"
    case assign = "=", equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case plusAssign = "+=", minusAssign = "-=", starAssign = "*=", slashAssign = "/="
}
