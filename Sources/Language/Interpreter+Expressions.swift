import Engine

extension Interpreter {
    // NOTE: each case of `evaluate` is its own function: a debug build gives a function one
    // stack slot per local of every case, and `evaluate` recurses, so a fat switch would cut
    // the recursion depth a thread's stack allows several times over.
    func evaluate(_ expr: Expr, in env: Environment) throws -> Value {
        switch expr {
        case .number(let x, _): return .number(x)
        case .bool(let b, _): return .bool(b)
        case .null: return .null
        case let .string(parts, _): return try interpolate(parts, in: env)
        case let .variable(name, location): return try lookup(name, at: location, in: env)
        case let .list(items, _): return .list(try items.map { try evaluate($0, in: env) })
        case let .record(fields, _): return try record(fields, in: env)
        case let .range(lower, upper, closed, _): return try range(lower, upper, closed: closed, in: env)
        case let .unary(op, operand, location): return try unary(op, operand, at: location, in: env)
        case let .binary(op, left, right, location): return try binary(op, left, right, at: location, in: env)
        case let .logical(isAnd, left, right, _): return try logical(isAnd: isAnd, left, right, in: env)
        case let .call(callee, arguments, location): return try call(callee, arguments, at: location, in: env)
        case let .index(base, subscripts, location): return try index(base, subscripts, at: location, in: env)
        case let .member(base, name, location): return try member(of: try evaluate(base, in: env), name, at: location)
        case .function(let decl): return .function(Function(.user(decl, env)))
        }
    }

    private func interpolate(_ parts: [InterpolatedPart], in env: Environment) throws -> Value {
        var text = ""
        for part in parts {
            switch part {
            case .text(let t): text += t
            case let .expression(e, format):
                let value = try evaluate(e, in: env)
                do { text += try formatted(value, format: format) } catch let error as RuntimeError {
                    throw LanguageError(.runtime, error.message, at: e.location)
                }
            }
        }
        return .string(text)
    }

    private func lookup(_ name: String, at location: SourceLocation, in env: Environment) throws -> Value {
        if let value = env.lookup(name) { return value }
        if let builtin = registry[name] { return .function(Function(.builtin(builtin))) }
        throw LanguageError(.runtime, "'\(name)' is not defined" + suggestion(for: name, in: env), at: location)
    }

    private func record(_ fields: [(key: String, value: Expr)], in env: Environment) throws -> Value {
        var record = Record()
        for (key, valueExpr) in fields { record[key] = try evaluate(valueExpr, in: env) }
        return .record(record)
    }

    private func range(_ lowerExpr: Expr, _ upperExpr: Expr, closed: Bool, in env: Environment) throws -> Value {
        let lower = try evaluate(lowerExpr, in: env), upper = try evaluate(upperExpr, in: env)
        guard case .number(let a) = lower, let start = exactInt(a) else {
            throw LanguageError(.runtime, "a range's start must be an integer, got \(lower.described)", at: lowerExpr.location)
        }
        guard case .number(let b) = upper, let end = exactInt(b) else {
            throw LanguageError(.runtime, "a range's end must be an integer, got \(upper.described)", at: upperExpr.location)
        }
        return .range(RangeValue(start: start, end: closed ? end + 1 : end))
    }

    private func unary(_ op: UnaryOperator, _ operandExpr: Expr, at location: SourceLocation, in env: Environment) throws -> Value {
        let operand = try evaluate(operandExpr, in: env)
        switch op {
        case .negate:
            switch operand {
            case .number(let x): return .number(-x)
            case .tensor(let t): return .tensor(-t)
            default: throw LanguageError(.runtime, "unary '-' needs a number or a tensor, got \(operand.described)", at: location)
            }
        case .not:
            return .bool(!(try truth(operand, at: operandExpr.location, context: "not")))
        }
    }

    private func binary(_ op: BinaryOperator, _ leftExpr: Expr, _ rightExpr: Expr, at location: SourceLocation, in env: Environment) throws -> Value {
        try guardStack(at: location)
        let left = try evaluate(leftExpr, in: env)
        let right = try evaluate(rightExpr, in: env)
        return try binary(op, left, right, at: location)
    }

    private func logical(isAnd: Bool, _ leftExpr: Expr, _ rightExpr: Expr, in env: Environment) throws -> Value {
        let context = isAnd ? "and" : "or"
        let left = try truth(evaluate(leftExpr, in: env), at: leftExpr.location, context: context)
        if isAnd != left { return .bool(left) }
        return .bool(try truth(evaluate(rightExpr, in: env), at: rightExpr.location, context: context))
    }

    private func call(_ calleeExpr: Expr, _ arguments: [Argument], at location: SourceLocation, in env: Environment) throws -> Value {
        try guardStack(at: location)
        let callee = try evaluate(calleeExpr, in: env)
        var positional: [(Value, SourceLocation?)] = []
        var keyword: [(String, Value, SourceLocation?)] = []
        for argument in arguments {
            let value = try evaluate(argument.value, in: env)
            if let label = argument.label { keyword.append((label, value, argument.location)) } else { positional.append((value, argument.location)) }
        }
        guard case .function(let function) = callee else {
            throw LanguageError(.runtime, "cannot call \(callee.described); only functions can be called", at: calleeExpr.location)
        }
        return try call(function, positional: positional, keyword: keyword, at: location)
    }

    private func index(_ baseExpr: Expr, _ subscripts: [Subscript], at location: SourceLocation, in env: Environment) throws -> Value {
        let base = try evaluate(baseExpr, in: env)
        let indices = try subscripts.map { try evaluateSubscript($0, in: env) }
        return try index(base, indices, at: location)
    }

    /// An error instead of a stack overflow when evaluation nests too deeply.
    func guardStack(at location: SourceLocation) throws {
        guard stack.hasRoom() else {
            throw LanguageError(.runtime, "too deeply nested: the interpreter's stack is nearly full (runaway recursion?)", at: location)
        }
    }

    /// The condition of `if`, `while`, `and`, `or`, `not`: a bool (or a one-element tensor,
    /// true when non-zero).
    func truth(_ value: Value, at location: SourceLocation, context: String) throws -> Bool {
        switch value {
        case .bool(let b): return b
        case .tensor(let t) where t.count == 1: return t.scalars[0] != 0
        default:
            throw LanguageError(.runtime, "\(context): the condition must be true or false, got \(value.described)", at: location)
        }
    }

    /// ` (did you mean 'x'?)` for a name one edit away from a variable or builtin.
    private func suggestion(for name: String, in env: Environment) -> String {
        var candidates = registry.names
        var scope: Environment? = env
        while let s = scope { candidates += s.names; scope = s.parent }
        let close = candidates.filter { editDistance($0, name) <= (name.count > 4 ? 2 : 1) }.sorted()
        return close.first.map { "; did you mean '\($0)'?" } ?? ""
    }
}

/// Levenshtein distance, for suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
