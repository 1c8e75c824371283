/// Every error a `.snp` program can meet: a syntax error found by the lexer or parser, a
/// runtime error (a type mistake, an engine error, a failed `assert`), or an interruption
/// (Ctrl-C). Printed as `FILE:LINE:COL: error: MESSAGE`, then the source line and a caret.
public struct LanguageError: Error, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// The text is not valid `.snp`. `incomplete` when it ended inside an open bracket,
        /// block or string: more input could make it valid (the REPL keeps reading).
        case syntax(incomplete: Bool)
        case runtime
        /// Stopped at a safe point by Ctrl-C (`Interruption`); every variable is kept.
        case interrupted
    }

    public let kind: Kind
    public let message: String
    /// Nil for errors with no place in the source (e.g. raised outside any statement).
    public let location: SourceLocation?

    public init(_ kind: Kind, _ message: String, at location: SourceLocation?) {
        self.kind = kind
        self.message = message
        self.location = location
    }

    /// True for a syntax error that more input could complete.
    public var isIncomplete: Bool { kind == .syntax(incomplete: true) }
    public var isSyntaxError: Bool { if case .syntax = kind { return true } else { return false } }

    /// `FILE:LINE:COL: error: MESSAGE`, the source line and a caret under the column.
    public var description: String {
        guard let location else { return "error: \(message)" }
        var text = "\(location): error: \(message)"
        let line = location.source.line(location.line)
        if !line.isEmpty || location.line <= location.source.lines.count {
            // Tabs stay tabs under the caret so it lines up in any terminal.
            let pad = line.unicodeScalars.prefix(max(location.column - 1, 0)).map { $0 == "\t" ? "\t" : " " }.joined()
            text += "\n\(line)\n\(pad)^"
        }
        return text
    }
}

/// A runtime error raised by a builtin or a native object before its location is known; the
/// interpreter places it at the call (or at the argument it names, when it knows where that is).
public struct RuntimeError: Error, CustomStringConvertible {
    public let message: String
    /// The parameter the message is about, so the caret can point at that argument.
    public let parameter: String?

    public init(_ message: String, parameter: String? = nil) {
        self.message = message
        self.parameter = parameter
    }

    public var description: String { message }
}
