import Engine

/// A subscript with its parts evaluated.
enum EvaluatedSubscript {
    case index(Value, SourceLocation)
    case slice(start: Int?, end: Int?, step: Int?, SourceLocation)
}

extension Interpreter {
    func evaluateSubscript(_ s: Subscript, in env: Environment) throws -> EvaluatedSubscript {
        switch s {
        case .index(let e): return .index(try evaluate(e, in: env), e.location)
        case let .slice(start, end, step, location):
            func bound(_ e: Expr?) throws -> Int? {
                guard let e else { return nil }
                let v = try evaluate(e, in: env)
                if case .null = v { return nil }
                guard case .number(let x) = v, let i = exactInt(x) else {
                    throw LanguageError(.runtime, "a slice bound must be an integer, got \(v.described)", at: e.location)
                }
                return i
            }
            return .slice(start: try bound(start), end: try bound(end), step: try bound(step), location)
        }
    }

    /// `base[…]`.
    func index(_ base: Value, _ subscripts: [EvaluatedSubscript], at location: SourceLocation) throws -> Value {
        switch base {
        case .tensor(let t):
            let entries = try subscripts.map { s -> SliceIndex in
                switch s {
                case let .index(v, l):
                    guard case .number(let x) = v, let i = exactInt(x) else {
                        throw LanguageError(.runtime, "a tensor index must be an integer or a slice, got \(v.described)", at: l)
                    }
                    return .index(i)
                case let .slice(start, end, step, _):
                    return start == nil && end == nil && (step ?? 1) == 1 ? .all : .range(start: start, end: end, step: step ?? 1)
                }
            }
            return .tensor(try engine(at: location) { try t.slice(entries) })
        case .list(let items):
            return try sequenceIndex(items, subscripts, what: "list", at: location, wrap: { .list($0) })
        case .string(let s):
            return try sequenceIndex(s.map { Value.string(String($0)) }, subscripts, what: "string", at: location) { parts in
                .string(parts.map(\.display).joined())
            }
        case .range(let r):
            if subscripts.count == 1, case let .index(v, l) = subscripts[0] {
                return .number(Double(r.element(try position(v, count: r.count, what: "range", at: l))))
            }
            return try sequenceIndex(try engine(at: location) { try r.values() }, subscripts, what: "range", at: location, wrap: { .list($0) })
        case .record, .object:
            guard subscripts.count == 1, case let .index(.string(key), keyLocation) = subscripts[0] else {
                throw LanguageError(.runtime, "\(base.typeName) fields are indexed by one string, as x[\"name\"]", at: location)
            }
            return try member(of: base, key, at: keyLocation)
        default:
            throw LanguageError(.runtime, "cannot index \(base.described)", at: location)
        }
    }

    /// Python-style indexing of a list-like sequence: one index (negative from the end) or a slice.
    private func sequenceIndex(_ items: [Value], _ subscripts: [EvaluatedSubscript], what: String,
                               at location: SourceLocation, wrap: ([Value]) -> Value) throws -> Value {
        guard subscripts.count == 1 else {
            throw LanguageError(.runtime, "a \(what) takes one index, got \(subscripts.count)", at: location)
        }
        switch subscripts[0] {
        case let .index(v, l):
            let i = try position(v, count: items.count, what: what, at: l)
            return items[i]
        case let .slice(start, end, step, l):
            return wrap(try sliceIndices(count: items.count, start: start, end: end, step: step, at: l).map { items[$0] })
        }
    }

    /// A checked position in a sequence of `count` items (negative counts from the end).
    func position(_ v: Value, count: Int, what: String, at location: SourceLocation) throws -> Int {
        guard case .number(let x) = v, let i = exactInt(x) else {
            throw LanguageError(.runtime, "a \(what) index must be an integer, got \(v.described)", at: location)
        }
        let j = i < 0 ? i + count : i
        guard j >= 0 && j < count else {
            throw LanguageError(.runtime, "index \(i) is out of range for a \(what) of \(count) item\(count == 1 ? "" : "s")", at: location)
        }
        return j
    }

    /// The positions `start:end:step` selects (Python's clamping; a negative step walks back).
    func sliceIndices(count n: Int, start: Int?, end: Int?, step: Int?, at location: SourceLocation) throws -> [Int] {
        let step = step ?? 1
        guard step != 0 else { throw LanguageError(.runtime, "a slice step cannot be 0", at: location) }
        func clamp(_ v: Int?, _ fallback: Int, _ low: Int, _ high: Int) -> Int {
            guard let v else { return fallback }
            return Swift.min(Swift.max(v < 0 ? v + n : v, low), high)
        }
        if step > 0 {
            let lo = clamp(start, 0, 0, n), hi = clamp(end, n, 0, n)
            return lo < hi ? Array(stride(from: lo, to: hi, by: step)) : []
        }
        let hi = clamp(start, n - 1, -1, n - 1), lo = clamp(end, -1, -1, n - 1)
        return hi > lo ? Array(stride(from: hi, to: lo, by: step)) : []
    }

    // MARK: - Members

    /// `base.name`: a record's field, a tensor's property, a native object's member, or a
    /// builtin marked as a method, bound to `base`.
    func member(of base: Value, _ name: String, at location: SourceLocation) throws -> Value {
        switch base {
        case .record(let r):
            if let v = r[name] { return v }
            throw LanguageError(.runtime, "the record has no field '\(name)'" + (r.keys.isEmpty ? "" : " (it has \(r.keys.joined(separator: ", ")))"), at: location)
        case .tensor(let t):
            switch name {
            case "shape": return .list(t.shape.map { .number(Double($0)) })
            case "rank": return .number(Double(t.rank))
            case "count": return .number(Double(t.count))
            case "grad": return t.grad.map { .tensor($0) } ?? .null
            case "requires_grad": return .bool(t.requiresGrad)
            case "T": return .tensor(try engine(at: location) { try t.transpose() })
            default: break
            }
        case .object(let o):
            if let v = try engine(at: location, { try o.member(name) }) { return v }
        default:
            break
        }
        if let builtin = registry[name], builtin.isMethod {
            return .function(Function(.bound(builtin, receiver: base)))
        }
        var message = "\(base.typeName) has no member '\(name)'"
        if case .object(let o) = base, !o.memberNames.isEmpty {
            message += " (it has \(o.memberNames.joined(separator: ", ")))"
        } else if case .tensor = base {
            message += " (tensors have shape, rank, count, grad, requires_grad, T and the tensor functions as methods)"
        }
        throw LanguageError(.runtime, message, at: location)
    }

    // MARK: - Assignment

    /// `target = value` for a name, `x[i]`, `x["key"]` or `x.field`. Lists and records are
    /// values: the changed copy is assigned back to the variable that held them.
    func assign(_ value: Value, to target: Expr, in env: Environment) throws {
        switch target {
        case let .variable(name, location):
            guard env.assign(name, value) else {
                throw LanguageError(.runtime, "'\(name)' is not defined; declare it first with let \(name) = …", at: location)
            }
        case let .index(baseExpr, subscripts, location):
            let base = try evaluate(baseExpr, in: env)
            guard subscripts.count == 1 else {
                throw LanguageError(.runtime, "assignment takes one index, as x[i] = v", at: location)
            }
            let s = try evaluateSubscript(subscripts[0], in: env)
            switch (base, s) {
            case let (.list(items), .index(i, l)):
                var items = items
                items[try position(i, count: items.count, what: "list", at: l)] = value
                try assign(.list(items), to: baseExpr, in: env)
            case let (.record(r), .index(.string(key), _)):
                var r = r
                r[key] = value
                try assign(.record(r), to: baseExpr, in: env)
            case (.tensor, _):
                throw LanguageError(.runtime, "tensors are not changed in place; build a new one (where, concat, stack)", at: location)
            default:
                throw LanguageError(.runtime, "cannot assign into \(base.described) with this index", at: location)
            }
        case let .member(baseExpr, name, location):
            let base = try evaluate(baseExpr, in: env)
            switch base {
            case .record(var r):
                r[name] = value
                try assign(.record(r), to: baseExpr, in: env)
            case .tensor(let t) where name == "requires_grad":
                guard case .bool(let on) = value else {
                    throw LanguageError(.runtime, "requires_grad must be true or false, got \(value.described)", at: location)
                }
                t.requiresGrad = on
            default:
                throw LanguageError(.runtime, "cannot set '\(name)' on \(base.described)", at: location)
            }
        default:
            throw LanguageError(.runtime, "cannot assign to this expression", at: target.location)
        }
    }
}
