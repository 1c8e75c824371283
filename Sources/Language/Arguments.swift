import Engine

/// A builtin call's arguments, bound to its signature, with typed accessors whose errors say
/// what was expected and what came: `sum(): axis must be an integer, got string "x"`.
public struct Arguments {
    /// The builtin's name, for messages.
    public let name: String
    public let interpreter: Interpreter
    /// Where the call is (its `(`).
    public let location: SourceLocation?
    private let values: [String: Value]
    let locations: [String: SourceLocation]
    /// The parameters the call passed (positionally or by keyword), as opposed to defaults.
    private let given: Set<String>

    init(name: String, interpreter: Interpreter, location: SourceLocation?, values: [String: Value], locations: [String: SourceLocation],
         given: Set<String>) {
        self.name = name
        self.interpreter = interpreter
        self.location = location
        self.values = values
        self.locations = locations
        self.given = given
    }

    /// Whether the call passed this parameter (even with its default value) rather than leaving
    /// it to the default: explicit settings override presets (`distill(…, method:)`).
    public func isGiven(_ parameter: String) -> Bool { given.contains(parameter) }

    /// The bound value of a parameter (its default when not passed).
    public subscript(parameter: String) -> Value { values[parameter] ?? .null }

    /// Whether the parameter is nil (absent with a nil default, or passed nil).
    public func isNil(_ parameter: String) -> Bool { self[parameter].isNil }

    /// An error about one argument; the caret goes under that argument.
    public func mistake(_ parameter: String, _ expected: String) -> RuntimeError {
        RuntimeError("\(name)(): \(parameter) must be \(expected), got \(self[parameter].described)", parameter: parameter)
    }

    public func number(_ p: String) throws -> Double {
        switch self[p] {
        case .number(let x): return x
        case .tensor(let t) where t.count == 1: return Double(t.scalars[0])
        default: throw mistake(p, "a number")
        }
    }

    public func optionalNumber(_ p: String) throws -> Double? { isNil(p) ? nil : try number(p) }

    /// A number that is a whole number in Int range (no silent truncation).
    public func int(_ p: String) throws -> Int {
        guard case .number(let x) = self[p] else {
            if case .tensor(let t) = self[p], t.count == 1, let i = exactInt(Double(t.scalars[0])) { return i }
            throw mistake(p, "an integer")
        }
        guard let i = exactInt(x) else { throw mistake(p, "an integer") }
        return i
    }

    public func optionalInt(_ p: String) throws -> Int? { isNil(p) ? nil : try int(p) }

    /// A non-negative integer.
    public func count(_ p: String) throws -> Int {
        let i = try int(p)
        guard i >= 0 else { throw mistake(p, "a non-negative integer") }
        return i
    }

    /// A whole number usable as a seed.
    public func optionalSeed(_ p: String) throws -> UInt64? {
        guard let i = try optionalInt(p) else { return nil }
        guard i >= 0 else { throw mistake(p, "a non-negative integer") }
        return UInt64(i)
    }

    public func string(_ p: String) throws -> String {
        guard case .string(let s) = self[p] else { throw mistake(p, "a string") }
        return s
    }

    public func optionalString(_ p: String) throws -> String? { isNil(p) ? nil : try string(p) }

    public func bool(_ p: String) throws -> Bool {
        guard case .bool(let b) = self[p] else { throw mistake(p, "true or false") }
        return b
    }

    public func list(_ p: String) throws -> [Value] {
        switch self[p] {
        case .list(let items): return items
        case .range(let r): return try r.values()
        default: throw mistake(p, "a list")
        }
    }

    public func record(_ p: String) throws -> Record {
        guard case .record(let r) = self[p] else { throw mistake(p, "a record") }
        return r
    }

    public func function(_ p: String) throws -> Function {
        guard case .function(let f) = self[p] else { throw mistake(p, "a function") }
        return f
    }

    /// A native object of type `T`; `expected` names it for the message ("a model").
    public func object<T>(_ p: String, as type: T.Type, _ expected: String) throws -> T {
        guard case .object(let o) = self[p], let t = o as? T else { throw mistake(p, expected) }
        return t
    }

    /// A tensor, or something that converts to one: a number (0-d), a (nested) list of
    /// numbers, a range.
    public func tensor(_ p: String) throws -> Tensor {
        guard let t = try Interpreter.tensor(from: self[p]) else { throw mistake(p, "a tensor, a number or a list of numbers") }
        return t
    }

    public func optionalTensor(_ p: String) throws -> Tensor? { isNil(p) ? nil : try tensor(p) }

    /// Numbers from a list, range or tensor (any shape, flattened); `nil` in a list is NaN (a gap
    /// in a curve).
    public func numbers(_ p: String) throws -> [Double] { try numbers(of: self[p], p) }

    /// `numbers` of any value (a record's field, a table's column), errors naming parameter `p`.
    public func numbers(of value: Value, _ p: String) throws -> [Double] {
        switch value {
        case .tensor(let t): return t.scalars.map(Double.init)
        case .range(let r): return try r.values().map { if case .number(let x) = $0 { return x } else { return .nan } }
        case .list(let items):
            return try items.map { item in
                switch item {
                case .number(let x): return x
                case .null: return .nan
                case .tensor(let t) where t.count == 1: return Double(t.scalars[0])
                default: throw mistake(p, "a list of numbers")
                }
            }
        default: throw mistake(p, "a list of numbers or a tensor")
        }
    }

    /// A tensor shape: a list of non-negative integers, or one integer; at most
    /// `Interpreter.maximumElements` elements in all.
    public func shape(_ p: String) throws -> [Int] {
        let dims: [Int]
        switch self[p] {
        case .number(let x):
            guard let i = exactInt(x) else { throw mistake(p, "a shape (a list of integers)") }
            dims = [i]
        case .list(let items):
            dims = try items.map { item -> Int in
                guard case .number(let x) = item, let i = exactInt(x) else { throw mistake(p, "a shape (a list of integers)") }
                return i
            }
        default: throw mistake(p, "a shape (a list of integers)")
        }
        try Interpreter.checkShape(dims, name: "\(name)(): \(p)")
        return dims
    }

    /// nil (all axes), one integer, or a list of integers.
    public func axes(_ p: String) throws -> [Int]? {
        switch self[p] {
        case .null: return nil
        case .number: return [try int(p)]
        case .list(let items):
            return try items.map { item in
                guard case .number(let x) = item, let i = exactInt(x) else { throw mistake(p, "an axis or a list of axes") }
                return i
            }
        default: throw mistake(p, "an axis (an integer) or a list of axes")
        }
    }
}

/// `x` as an Int when it is a whole number well inside Int range, else nil.
public func exactInt(_ x: Double) -> Int? {
    guard x.isFinite, x == x.rounded(), Swift.abs(x) <= 9.0e15 else { return nil }
    return Int(x)
}
