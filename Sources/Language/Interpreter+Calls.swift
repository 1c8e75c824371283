import Engine

extension Interpreter {
    /// Calls a function value with evaluated arguments. Builtins get their arguments bound by
    /// the registry; `.snp` functions get a new scope under the one they were defined in.
    public func call(_ function: Function, positional: [(Value, SourceLocation?)], keyword: [(String, Value, SourceLocation?)] = [],
                     at location: SourceLocation?) throws -> Value {
        if callDepth == 0 { stack = StackGuard() }
        try checkInterruption(at: location)
        guard callDepth < maximumCallDepth, stack.hasRoom() else {
            throw LanguageError(.runtime, "calls nested \(callDepth) deep: runaway recursion? (the limit is \(maximumCallDepth) or a nearly full stack)", at: location)
        }
        callDepth += 1
        defer { callDepth -= 1 }
        switch function.kind {
        case let .user(decl, closure):
            return try callUser(decl, closure: closure, positional: positional, keyword: keyword, at: location)
        case .builtin(let builtin):
            return try callBuiltin(builtin, positional: positional, keyword: keyword, at: location)
        case let .bound(builtin, receiver):
            return try callBuiltin(builtin, positional: [(receiver, location)] + positional, keyword: keyword, at: location)
        }
    }

    /// Calls a function with plain values (for builtins that take functions: `grad`, `sweep`).
    public func call(_ function: Function, _ positional: [Value], keyword: [(String, Value)] = [], at location: SourceLocation?) throws -> Value {
        try call(function, positional: positional.map { ($0, nil) }, keyword: keyword.map { ($0.0, $0.1, nil) }, at: location)
    }

    private func callUser(_ decl: FunctionDecl, closure: Environment, positional: [(Value, SourceLocation?)],
                          keyword: [(String, Value, SourceLocation?)], at location: SourceLocation?) throws -> Value {
        let name = decl.name ?? "fn"
        let parameters = decl.parameters
        guard positional.count <= parameters.count else {
            throw LanguageError(.runtime, "\(name)() takes \(parameters.count) argument\(parameters.count == 1 ? "" : "s"), got \(positional.count)", at: location)
        }
        let scope = Environment(parent: closure)
        var bound = Set<String>()
        for (p, (value, _)) in zip(parameters, positional) {
            scope.define(p.name, value)
            bound.insert(p.name)
        }
        for (label, value, argLocation) in keyword {
            guard parameters.contains(where: { $0.name == label }) else {
                throw LanguageError(.runtime, "\(name)() has no parameter '\(label)' (it takes \(parameters.map(\.name).joined(separator: ", ")))", at: argLocation ?? location)
            }
            guard bound.insert(label).inserted else {
                throw LanguageError(.runtime, "\(name)(): '\(label)' is given twice", at: argLocation ?? location)
            }
            scope.define(label, value)
        }
        for p in parameters where !bound.contains(p.name) {
            guard let defaultExpr = p.defaultValue else {
                throw LanguageError(.runtime, "\(name)(): missing argument '\(p.name)'", at: location)
            }
            // Defaults are evaluated at each call, seeing the earlier parameters.
            scope.define(p.name, try evaluate(defaultExpr, in: scope))
        }
        switch try executeBlock(decl.body, in: scope) {
        case .returned(let value): return value
        case .normal(let value): return value ?? .null
        case .breakLoop(let l), .continueLoop(let l):
            throw LanguageError(.runtime, "'break' or 'continue' outside a loop", at: l)
        }
    }

    private func callBuiltin(_ builtin: Builtin, positional: [(Value, SourceLocation?)],
                             keyword: [(String, Value, SourceLocation?)], at location: SourceLocation?) throws -> Value {
        let bound: (values: [String: Value], locations: [String: SourceLocation], given: Set<String>)
        do {
            bound = try builtin.signature.bind(builtin.name, positional: positional, keyword: keyword)
        } catch let error as RuntimeError {
            throw LanguageError(.runtime, error.message, at: location)
        }
        let arguments = Arguments(name: builtin.name, interpreter: self, location: location, values: bound.values, locations: bound.locations, given: bound.given)
        do {
            return try builtin.body(arguments)
        } catch let error as LanguageError {
            throw error
        } catch let error as RuntimeError {
            throw LanguageError(.runtime, error.message, at: error.parameter.flatMap { bound.locations[$0] } ?? location)
        } catch {
            // Engine messages start with their op ("reshape: …"); others get the builtin's name.
            let text = "\(error)"
            throw LanguageError(.runtime, text.hasPrefix("\(builtin.name):") ? text : "\(builtin.name)(): \(text)", at: location)
        }
    }
}

extension Interpreter {
    /// The most elements a tensor (or list) made from a script may have (1 GiB of Float32).
    public static let maximumElements = 1 << 28

    /// Checks a shape from a script: non-negative sizes, and a total that neither overflows
    /// nor exceeds `maximumElements`.
    static func checkShape(_ dims: [Int], name: String) throws {
        var total = 1
        for d in dims {
            guard d >= 0 else { throw RuntimeError("\(name): sizes must be ≥ 0, got \(shapeString(dims))") }
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow, product <= maximumElements else {
                throw RuntimeError("\(name): shape \(shapeString(dims)) is too large (more than \(maximumElements) elements)")
            }
            total = product
        }
    }

    /// A tensor from a value: a tensor as is, a number as a 0-d tensor, a range as 1-d, a
    /// (nested, rectangular) list of numbers, or a list of same-shaped tensors (stacked).
    /// Nil when the value is none of these.
    public static func tensor(from value: Value) throws -> Tensor? {
        switch value {
        case .tensor(let t): return t
        case .number(let x): return Tensor(scalar: Float(x))
        case .bool(let b): return Tensor(scalar: b ? 1 : 0)
        case .range(let r):
            try checkShape([r.count], name: "tensor")
            return Tensor(r.map { Float($0) })
        case .list(let items):
            if !items.isEmpty, items.allSatisfy({ if case .tensor = $0 { return true } else { return false } }) {
                let tensors = items.compactMap { if case .tensor(let t) = $0 { return t } else { return nil } }
                return try Tensor.stack(tensors)
            }
            var scalars: [Float] = []
            guard let shape = try flatten(value, into: &scalars, depth: 0) else { return nil }
            try checkShape(shape, name: "tensor")
            return try Tensor(scalars, shape: shape)
        default: return nil
        }
    }

    /// Appends the numbers of a nested list; returns its shape, or nil if it is ragged or not numeric.
    private static func flatten(_ value: Value, into scalars: inout [Float], depth: Int) throws -> [Int]? {
        guard depth < 32 else { return nil }
        switch value {
        case .number(let x): scalars.append(Float(x)); return []
        case .bool(let b): scalars.append(b ? 1 : 0); return []
        case .list(let items):
            var inner: [Int]? = nil
            for item in items {
                guard let shape = try flatten(item, into: &scalars, depth: depth + 1) else { return nil }
                if let inner, inner != shape { throw RuntimeError("tensor: the nested lists are ragged (shapes \(shapeString(inner)) and \(shapeString(shape)))") }
                inner = shape
            }
            return [items.count] + (inner ?? [])
        default: return nil
        }
    }
}
