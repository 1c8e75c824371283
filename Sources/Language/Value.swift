import Engine

/// A `.snp` value. Numbers, strings, bools, nil, lists, records and ranges are values (copied
/// on assignment: `let b = a; b[0] = 9` leaves `a` alone); tensors, functions and native
/// objects are references (two names for one model see the same weights), as in PyTorch.
public enum Value {
    case number(Double)
    case string(String)
    case bool(Bool)
    case null
    case list([Value])
    case record(Record)
    case range(RangeValue)
    case function(Function)
    case tensor(Tensor)
    case object(NativeObject)

    /// The name `type(x)` returns: `number`, `string`, …, a native object's own type name.
    public var typeName: String {
        switch self {
        case .number: return "number"
        case .string: return "string"
        case .bool: return "bool"
        case .null: return "nil"
        case .list: return "list"
        case .record: return "record"
        case .range: return "range"
        case .function: return "function"
        case .tensor: return "tensor"
        case .object(let o): return o.typeName
        }
    }

    /// The type and a glimpse of the value, for error messages: `string "x"`, `number 3`,
    /// `tensor [2,3]`, `list of 4`.
    public var described: String {
        switch self {
        case .number(let x): return "number \(formatNumber(x))"
        case .string(let s): return "string \(quoted(s.count > 40 ? String(s.prefix(40)) + "…" : s))"
        case .bool(let b): return "bool \(b)"
        case .null: return "nil"
        case .list(let items): return "list of \(items.count)"
        case .record(let r): return "record {\(r.keys.prefix(5).joined(separator: ", "))\(r.count > 5 ? ", …" : "")}"
        case .range(let r): return "range \(r)"
        case .function(let f): return "function \(f.name)"
        case .tensor(let t): return "tensor \(shapeString(t.shape))"
        case .object(let o): return o.typeName
        }
    }

    public var isNil: Bool { if case .null = self { return true } else { return false } }
}

/// A record: fields in the order they were written (`{lr: 1e-4, steps: 400}`).
public struct Record {
    public private(set) var keys: [String] = []
    private var values: [String: Value] = [:]

    public init() {}

    public init(_ fields: [(String, Value)]) {
        for (k, v) in fields { self[k] = v }
    }

    public var count: Int { keys.count }
    public var fields: [(key: String, value: Value)] { keys.map { ($0, values[$0] ?? .null) } }

    /// Reads a field (nil if absent); writing adds it at the end or replaces it in place.
    public subscript(key: String) -> Value? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }
}

/// `start..<end` stepping by `step` (integers; `a...b` is `a..<b+1`).
public struct RangeValue: CustomStringConvertible, Sequence {
    public let start: Int, end: Int, step: Int

    public init(start: Int, end: Int, step: Int = 1) {
        self.start = start
        self.end = end
        self.step = step
    }

    public var count: Int {
        if step > 0 { return end > start ? (end - start + step - 1) / step : 0 }
        return start > end ? (start - end - step - 1) / (-step) : 0
    }

    public func element(_ i: Int) -> Int { start + i * step }

    public func makeIterator() -> AnyIterator<Int> {
        var i = 0
        let n = count
        return AnyIterator {
            guard i < n else { return nil }
            defer { i += 1 }
            return self.element(i)
        }
    }

    public var description: String { step == 1 ? "\(start)..<\(end)" : "range(\(start), \(end), \(step))" }

    /// The numbers as a list; a range too long to hold is an error.
    public func values() throws -> [Value] {
        guard count <= Interpreter.maximumElements else {
            throw RuntimeError("the range \(self) has \(count) numbers, too many to list (at most \(Interpreter.maximumElements))")
        }
        return map { .number(Double($0)) }
    }
}

/// A callable: a `.snp` function (with the environment it closes over) or a builtin, possibly
/// bound to a receiver (`x.sum(axis: 0)` is `sum` with `x` first).
public final class Function {
    public enum Kind {
        case user(FunctionDecl, Environment)
        case builtin(Builtin)
        case bound(Builtin, receiver: Value)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var name: String {
        switch kind {
        case .user(let decl, _): return decl.name ?? "fn"
        case .builtin(let b), .bound(let b, _): return b.name
        }
    }

    /// `fn f(a, b: 2)`, `sum(x, axis: nil)`.
    public var signature: String {
        switch kind {
        case .user(let decl, _):
            let params = decl.parameters.map { $0.defaultValue == nil ? $0.name : "\($0.name): …" }
            return "fn \(decl.name ?? "")(\(params.joined(separator: ", ")))"
        case .builtin(let b), .bound(let b, _): return b.signature.text(name: b.name)
        }
    }
}

/// Anything from a layer below that a script handles as a value: a model, a table, a run, a
/// distribution. It names its type, prints a one-line summary, and exposes fields and methods
/// by name (`run.history`, `model.layers("attn2")`); methods are `Function`s built with
/// `Builtin.method`, so their arguments are bound by the registry like any builtin's.
public protocol NativeObject: AnyObject {
    /// The name `type(x)` returns (`model`, `table`).
    var typeName: String { get }
    /// One line: what it is and its key numbers.
    var summary: String { get }
    /// The text `print` and `show` give; the summary unless the object has a fuller form.
    var display: String { get }
    /// Field and method names, for `help(x)` and completion.
    var memberNames: [String] { get }
    /// The field or method `name`, or nil if there is none.
    func member(_ name: String) throws -> Value?
}

extension NativeObject {
    public var display: String { summary }
}
