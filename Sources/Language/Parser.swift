/// Recursive descent over tokens, one method per grammar rule (as jlox), statements here and
/// expressions in `Parser+Expressions.swift`.
///
///     program    → { statement ( ";" | newline ) } end
///     statement  → "let" name "=" expr | "fn" name params block | "return" [expr]
///                | "if" expr block { "else" "if" expr block } [ "else" block ]
///                | "for" name "in" expr block | "while" expr block | "break" | "continue"
///                | expr [ ( "=" | "+=" | "-=" | "*=" | "/=" ) expr ]
///     block      → "{" { statement } "}"
///
/// Line breaks end statements except inside `()`, `[]` and record braces, and after a binary
/// operator. An error at the end of the input is marked incomplete (the REPL reads on).
public struct Parser {
    private var tokens: [Token]
    private var current = 0
    /// One entry per open bracket: true inside a block (line breaks matter), false inside
    /// `()`, `[]`, record braces (line breaks are spaces).
    var lineBreaksMatter: [Bool] = [true]
    /// Set while parsing the condition of `if` / `while` / the sequence of `for`, where `{`
    /// opens the block rather than a record.
    var noRecordLiteral = false
    /// Nesting depth of expressions and blocks, bounded so deep input cannot exhaust the stack.
    var depth = 0
    static let maximumDepth = 128
    /// A parser of the tokens of a `{…}` inside a string: its end is not the end of the input.
    private let isInterpolation: Bool

    /// Parses a whole program from `source` (or lines `firstLine..<endLine` of it).
    public static func parse(_ source: Source, firstLine: Int = 1, endLine: Int? = nil) throws -> [Stmt] {
        var lexer = Lexer(source, firstLine: firstLine, endLine: endLine)
        var parser = Parser(tokens: try lexer.tokens(), isInterpolation: false)
        return try parser.program()
    }

    /// Parses `text` as a program named `name`.
    public static func parse(_ text: String, name: String = "<input>") throws -> [Stmt] {
        try parse(Source(name: name, text: text))
    }

    init(tokens: [Token], isInterpolation: Bool) {
        self.tokens = tokens
        self.isInterpolation = isInterpolation
    }

    // MARK: - Token access

    /// The next meaningful token (skipping line breaks inside brackets).
    mutating func peek() -> Token {
        if lineBreaksMatter.last == false {
            while tokens[current].kind == .newline { current += 1 }
        }
        return tokens[current]
    }

    /// The token after the next one, for the two-token decisions (`name:` in a call).
    mutating func peekSecond() -> Token {
        _ = peek()
        var i = current + 1
        if lineBreaksMatter.last == false {
            while i < tokens.count - 1 && tokens[i].kind == .newline { i += 1 }
        }
        return tokens[min(i, tokens.count - 1)]
    }

    @discardableResult
    mutating func advance() -> Token {
        let token = peek()
        if token.kind != .end { current += 1 }
        return token
    }

    mutating func check(_ symbol: Symbol) -> Bool { peek().kind == .symbol(symbol) }
    mutating func check(_ keyword: Keyword) -> Bool { peek().kind == .keyword(keyword) }

    mutating func match(_ symbol: Symbol) -> Bool {
        guard check(symbol) else { return false }
        advance()
        return true
    }

    mutating func match(_ keyword: Keyword) -> Bool {
        guard check(keyword) else { return false }
        advance()
        return true
    }

    @discardableResult
    mutating func expect(_ symbol: Symbol, _ context: String) throws -> Token {
        guard check(symbol) else { throw error("expected '\(symbol.rawValue)' \(context), got \(peek())") }
        return advance()
    }

    mutating func expectIdentifier(_ context: String) throws -> (String, SourceLocation) {
        let token = peek()
        guard case .identifier(let name) = token.kind else {
            if case .keyword(let k) = token.kind {
                throw error("expected \(context), got the keyword '\(k.rawValue)'")
            }
            throw error("expected \(context), got \(token)")
        }
        advance()
        return (name, token.location)
    }

    /// A syntax error at the next token; incomplete when that token is the end of the input.
    mutating func error(_ message: String) -> LanguageError {
        let token = peek()
        return LanguageError(.syntax(incomplete: token.kind == .end && !isInterpolation), message, at: token.location)
    }

    mutating func skipLineBreaks() {
        while tokens[current].kind == .newline { current += 1 }
    }

    /// Runs `body` with line breaks mattering (a block) or not (brackets).
    mutating func bracketed<T>(lineBreaksMatter matter: Bool, _ body: (inout Parser) throws -> T) rethrows -> T {
        lineBreaksMatter.append(matter)
        let savedNoRecord = noRecordLiteral
        noRecordLiteral = false
        defer { lineBreaksMatter.removeLast(); noRecordLiteral = savedNoRecord }
        return try body(&self)
    }

    mutating func enter() throws {
        depth += 1
        if depth > Parser.maximumDepth { throw error("expression or block nested too deeply (more than \(Parser.maximumDepth) levels)") }
    }

    mutating func leave() { depth -= 1 }

    // MARK: - Statements

    mutating func program() throws -> [Stmt] {
        var statements: [Stmt] = []
        while true {
            skipLineBreaks()
            while match(.semicolon) { skipLineBreaks() }
            if peek().kind == .end { return statements }
            statements.append(try statement())
            try endOfStatement()
        }
    }

    /// After a statement: `;`, a line break, a closing `}` or the end.
    private mutating func endOfStatement() throws {
        let token = peek()
        switch token.kind {
        case .newline, .symbol(.semicolon): advance()
        case .end, .symbol(.rightBrace): break
        default: throw error("expected the end of the statement (a line break or ';'), got \(token)")
        }
    }

    mutating func block(_ context: String) throws -> [Stmt] {
        try enter()
        defer { leave() }
        guard check(.leftBrace) else { throw error("expected '{' \(context), got \(peek())") }
        return try bracketed(lineBreaksMatter: true) { parser in
            parser.advance()
            var statements: [Stmt] = []
            while true {
                parser.skipLineBreaks()
                while parser.match(.semicolon) { parser.skipLineBreaks() }
                if parser.match(.rightBrace) { return statements }
                if parser.peek().kind == .end { throw parser.error("expected '}' to close the block \(context)") }
                statements.append(try parser.statement())
                try parser.endOfStatement()
            }
        }
    }

    mutating func statement() throws -> Stmt {
        let token = peek()
        switch token.kind {
        case .keyword(.let):
            advance()
            let (name, _) = try expectIdentifier("a name after 'let'")
            try expect(.assign, "after 'let \(name)'")
            return .let(name, try expression(), token.location)
        case .keyword(.fn) where isIdentifier(peekSecond()):
            advance()
            let (name, _) = try expectIdentifier("a function name")
            return .function(try functionRest(name: name, location: token.location))
        case .keyword(.return):
            advance()
            switch peek().kind {
            case .newline, .end, .symbol(.semicolon), .symbol(.rightBrace): return .return(nil, token.location)
            default: return .return(try expression(), token.location)
            }
        case .keyword(.if):
            return try ifStatement()
        case .keyword(.for):
            advance()
            let (name, _) = try expectIdentifier("a loop variable after 'for'")
            guard match(.in) else { throw error("expected 'in' after 'for \(name)', got \(peek())") }
            let sequence = try condition()
            return .for(name, sequence, try block("of the for loop"), token.location)
        case .keyword(.while):
            advance()
            let test = try condition()
            return .while(test, try block("of the while loop"), token.location)
        case .keyword(.break):
            advance()
            return .break(token.location)
        case .keyword(.continue):
            advance()
            return .continue(token.location)
        case .keyword(.else):
            throw error("'else' without an 'if' (it must follow the if's closing '}')")
        default:
            return try expressionStatement()
        }
    }

    private func isIdentifier(_ token: Token) -> Bool {
        if case .identifier = token.kind { return true } else { return false }
    }

    private mutating func ifStatement() throws -> Stmt {
        let start = advance()
        var branches: [(condition: Expr, body: [Stmt])] = []
        let test = try condition()
        branches.append((test, try block("of the if")))
        var otherwise: [Stmt]? = nil
        while true {
            // `else` may sit on the line after the closing brace.
            let saved = current
            skipLineBreaks()
            guard match(.else) else { current = saved; break }
            if match(.if) {
                let test = try condition()
                branches.append((test, try block("of the else if")))
            } else {
                otherwise = try block("of the else")
                break
            }
        }
        return .if(branches, otherwise: otherwise, start.location)
    }

    /// An expression before a block: `{` there opens the block, not a record.
    private mutating func condition() throws -> Expr {
        let saved = noRecordLiteral
        noRecordLiteral = true
        defer { noRecordLiteral = saved }
        return try expression()
    }

    private mutating func expressionStatement() throws -> Stmt {
        let target = try expression()
        let token = peek()
        let compound: [Symbol: BinaryOperator] = [.plusAssign: .add, .minusAssign: .subtract, .starAssign: .multiply, .slashAssign: .divide]
        guard case .symbol(let symbol) = token.kind, symbol == .assign || compound[symbol] != nil else {
            return .expression(target)
        }
        switch target {
        case .variable, .index, .member: break
        default:
            throw LanguageError(.syntax(incomplete: false), "cannot assign to this expression; assign to a name, x[i] or x.field", at: target.location)
        }
        advance()
        return .assign(target, compound[symbol], try expression(), token.location)
    }

    /// The parameters and body after `fn name` or `fn`.
    mutating func functionRest(name: String?, location: SourceLocation) throws -> FunctionDecl {
        try expect(.leftParen, "to start the parameters of \(name.map { "fn \($0)" } ?? "fn")")
        let parameters: [FunctionDecl.Parameter] = try bracketed(lineBreaksMatter: false) { parser in
            var parameters: [FunctionDecl.Parameter] = []
            while !parser.check(.rightParen) {
                let (pname, plocation) = try parser.expectIdentifier("a parameter name")
                if parameters.contains(where: { $0.name == pname }) {
                    throw LanguageError(.syntax(incomplete: false), "duplicate parameter '\(pname)'", at: plocation)
                }
                var defaultValue: Expr? = nil
                if parser.match(.colon) {
                    defaultValue = try parser.expression()
                } else if parameters.last?.defaultValue != nil {
                    throw LanguageError(.syntax(incomplete: false),
                        "parameter '\(pname)' needs a default: it follows a parameter with one", at: plocation)
                }
                parameters.append(.init(name: pname, defaultValue: defaultValue, location: plocation))
                if !parser.match(.comma) { break }
            }
            try parser.expect(.rightParen, "to close the parameters")
            return parameters
        }
        let body = try block("of the function")
        return FunctionDecl(name: name, parameters: parameters, body: body, location: location)
    }
}
