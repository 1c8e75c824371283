// Expressions, lowest precedence first:
//
//     expr           → or
//     or             → and { "or" and }
//     and            → not { "and" not }
//     not            → "not" not | comparison
//     comparison     → range [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) range ]
//     range          → additive [ ( "..<" | "..." ) additive ]
//     additive       → multiplicative { ( "+" | "-" ) multiplicative }
//     multiplicative → unary { ( "*" | "/" | "%" | "@" ) unary }
//     unary          → "-" unary | power
//     power          → postfix [ "**" unary ]            (right-associative: -2**2 is -4)
//     postfix        → primary { "(" arguments ")" | "[" subscripts "]" | "." name }
//     primary        → number | string | "true" | "false" | "nil" | name | "(" expr ")"
//                    | "[" list "]" | "{" record "}" | "fn" params block

extension Parser {
    mutating func expression() throws -> Expr {
        try enter()
        defer { leave() }
        return try or()
    }

    /// A left-associative chain; each link counts as a level of nesting (evaluation recurses).
    private mutating func chain(_ operand: (inout Parser) throws -> Expr,
                                _ match: (inout Parser) -> (Token, BinaryOperator?)?,
                                _ make: (BinaryOperator?, Expr, Expr, SourceLocation) -> Expr) throws -> Expr {
        var left = try operand(&self)
        var links = 0
        defer { depth -= links }
        while let (token, op) = match(&self) {
            advance()
            skipLineBreaks()
            links += 1
            try enter()
            left = make(op, left, try operand(&self), token.location)
        }
        return left
    }

    private mutating func or() throws -> Expr {
        try chain({ try $0.and() }, { $0.check(.or) ? ($0.peek(), nil) : nil }) { _, l, r, loc in .logical(isAnd: false, l, r, loc) }
    }

    private mutating func and() throws -> Expr {
        try chain({ try $0.not() }, { $0.check(.and) ? ($0.peek(), nil) : nil }) { _, l, r, loc in .logical(isAnd: true, l, r, loc) }
    }

    private mutating func not() throws -> Expr {
        if check(.not) {
            let token = advance()
            try enter()
            defer { leave() }
            return .unary(.not, try not(), token.location)
        }
        return try comparison()
    }

    private static let comparisons: [Symbol: BinaryOperator] = [
        .equal: .equal, .notEqual: .notEqual, .less: .less, .lessEqual: .lessEqual, .greater: .greater, .greaterEqual: .greaterEqual,
    ]

    private mutating func comparison() throws -> Expr {
        let left = try range()
        guard case .symbol(let s) = peek().kind, let op = Parser.comparisons[s] else { return left }
        let token = advance()
        skipLineBreaks()
        let right = try range()
        if case .symbol(let s) = peek().kind, Parser.comparisons[s] != nil {
            throw error("comparisons cannot be chained; write a < b and b < c")
        }
        return .binary(op, left, right, token.location)
    }

    private mutating func range() throws -> Expr {
        let left = try additive()
        guard check(.halfOpenRange) || check(.closedRange) else { return left }
        let token = advance()
        skipLineBreaks()
        return .range(left, try additive(), closed: token.kind == .symbol(.closedRange), token.location)
    }

    private static func binaryOperator(_ parser: inout Parser, _ table: [Symbol: BinaryOperator]) -> (Token, BinaryOperator?)? {
        let token = parser.peek()
        guard case .symbol(let s) = token.kind, let op = table[s] else { return nil }
        return (token, op)
    }

    private mutating func additive() throws -> Expr {
        try chain({ try $0.multiplicative() }, { Parser.binaryOperator(&$0, [.plus: .add, .minus: .subtract]) }) { op, l, r, loc in
            .binary(op ?? .add, l, r, loc)
        }
    }

    private mutating func multiplicative() throws -> Expr {
        let table: [Symbol: BinaryOperator] = [.star: .multiply, .slash: .divide, .percent: .remainder, .at: .matmul]
        return try chain({ try $0.unary() }, { Parser.binaryOperator(&$0, table) }) { op, l, r, loc in
            .binary(op ?? .multiply, l, r, loc)
        }
    }

    private mutating func unary() throws -> Expr {
        try enter()
        defer { leave() }
        if check(.minus) {
            let token = advance()
            return .unary(.negate, try unary(), token.location)
        }
        let base = try postfix()
        guard check(.power) else { return base }
        let token = advance()
        skipLineBreaks()
        return .binary(.power, base, try unary(), token.location)
    }

    // MARK: - Postfix

    private mutating func postfix() throws -> Expr {
        var expr = try primary()
        var links = 0
        defer { depth -= links }
        while true {
            let token = peek()
            switch token.kind {
            case .symbol(.leftParen):
                advance()
                expr = .call(expr, try arguments(), token.location)
            case .symbol(.leftBracket):
                advance()
                expr = .index(expr, try subscripts(), token.location)
            case .symbol(.dot):
                advance()
                let (name, _) = try expectIdentifier("a member name after '.'")
                expr = .member(expr, name, token.location)
            default:
                return expr
            }
            links += 1
            try enter()
        }
    }

    /// After `(`: positional arguments, then keyword arguments `name: value`.
    private mutating func arguments() throws -> [Argument] {
        try bracketed(lineBreaksMatter: false) { parser in
            var arguments: [Argument] = []
            while !parser.check(.rightParen) {
                let start = parser.peek()
                var label: String? = nil
                if case .identifier(let name) = start.kind, parser.peekSecond().kind == .symbol(.colon) {
                    parser.advance()
                    parser.advance()
                    if arguments.contains(where: { $0.label == name }) {
                        throw LanguageError(.syntax(incomplete: false), "keyword argument '\(name)' given twice", at: start.location)
                    }
                    label = name
                } else if arguments.last?.label != nil {
                    throw parser.error("a positional argument cannot follow keyword arguments")
                }
                let value = try parser.expression()
                arguments.append(Argument(label: label, value: value, location: start.location))
                if !parser.match(.comma) { break }
            }
            try parser.expect(.rightParen, "to close the call's arguments")
            return arguments
        }
    }

    /// After `[`: `i`, `a:b`, `a:b:step`, `:` … separated by commas.
    private mutating func subscripts() throws -> [Subscript] {
        try bracketed(lineBreaksMatter: false) { parser in
            var entries: [Subscript] = []
            repeat {
                let start = parser.peek()
                var first: Expr? = nil
                if !parser.check(.colon) { first = try parser.expression() }
                if parser.match(.colon) {
                    let end = parser.check(.colon) || parser.check(.comma) || parser.check(.rightBracket) ? nil : try parser.expression()
                    var step: Expr? = nil
                    if parser.match(.colon), !(parser.check(.comma) || parser.check(.rightBracket)) {
                        step = try parser.expression()
                    }
                    entries.append(.slice(start: first, end: end, step: step, start.location))
                } else if let first {
                    entries.append(.index(first))
                }
            } while parser.match(.comma) && !parser.check(.rightBracket)
            try parser.expect(.rightBracket, "to close the index")
            return entries
        }
    }

    // MARK: - Primary

    private mutating func primary() throws -> Expr {
        let token = peek()
        switch token.kind {
        case .number(let x):
            advance()
            return .number(x, token.location)
        case .string(let parts):
            advance()
            return .string(try interpolated(parts), token.location)
        case .keyword(.true):
            advance()
            return .bool(true, token.location)
        case .keyword(.false):
            advance()
            return .bool(false, token.location)
        case .keyword(.nil):
            advance()
            return .null(token.location)
        case .identifier(let name):
            advance()
            return .variable(name, token.location)
        case .keyword(.fn):
            advance()
            return .function(try functionRest(name: nil, location: token.location))
        case .symbol(.leftParen):
            advance()
            return try bracketed(lineBreaksMatter: false) { parser in
                let inner = try parser.expression()
                try parser.expect(.rightParen, "to close '('")
                return inner
            }
        case .symbol(.leftBracket):
            advance()
            return try bracketed(lineBreaksMatter: false) { parser in
                var items: [Expr] = []
                while !parser.check(.rightBracket) {
                    items.append(try parser.expression())
                    if !parser.match(.comma) { break }
                }
                try parser.expect(.rightBracket, "to close the list")
                return .list(items, token.location)
            }
        case .symbol(.leftBrace):
            if noRecordLiteral {
                throw error("expected an expression before the block's '{' (a record here needs parentheses)")
            }
            advance()
            return try record(token.location)
        default:
            throw error("expected an expression, got \(token)")
        }
    }

    private mutating func record(_ location: SourceLocation) throws -> Expr {
        try bracketed(lineBreaksMatter: false) { parser in
            var fields: [(key: String, value: Expr)] = []
            while !parser.check(.rightBrace) {
                let keyToken = parser.peek()
                let key: String
                switch keyToken.kind {
                case .identifier(let name): key = name
                case .keyword(let k): key = k.rawValue
                case .string(let parts):
                    guard parts.count == 1, case .text(let text) = parts[0] else {
                        throw parser.error("a record key cannot be an interpolated string")
                    }
                    key = text
                default: throw parser.error("expected a record key (a name or a string), got \(keyToken)")
                }
                parser.advance()
                if fields.contains(where: { $0.key == key }) {
                    throw LanguageError(.syntax(incomplete: false), "duplicate record key '\(key)'", at: keyToken.location)
                }
                try parser.expect(.colon, "after the record key '\(key)'")
                fields.append((key, try parser.expression()))
                if !parser.match(.comma) { break }
            }
            try parser.expect(.rightBrace, "to close the record")
            return .record(fields, location)
        }
    }

    private mutating func interpolated(_ parts: [StringPart]) throws -> [InterpolatedPart] {
        try parts.map { part in
            switch part {
            case .text(let text): return .text(text)
            case let .interpolation(tokens, format):
                var parser = Parser(tokens: tokens, isInterpolation: true)
                parser.lineBreaksMatter = [false]
                parser.depth = depth
                let expr = try parser.expression()
                guard parser.peek().kind == .end else { throw parser.error("unexpected \(parser.peek()) in '{…}'") }
                return .expression(expr, format: format)
            }
        }
    }
}
