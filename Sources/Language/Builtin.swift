/// One builtin function: its name, signature, a one-paragraph doc and an example, and the
/// Swift that runs it. The registry binds the call's arguments to the signature before `body`
/// runs, so a builtin only reads its parameters by name (`try args.tensor("x")`).
public struct Builtin {
    public let name: String
    public let signature: Signature
    public let doc: String
    /// A line (or a few) of `.snp` showing a typical call.
    public let example: String
    /// Whether `x.name(…)` calls it with `x` as the first argument (tensor methods, `len`, …).
    public let isMethod: Bool
    let body: (Arguments) throws -> Value

    /// - Parameters:
    ///   - parameters: the parameter list as `.snp` writes it, defaults as literals:
    ///     `"x, axis: nil, keepdims: false"`. Parameters without a default are required.
    ///   - variadic: a name that collects any further positional arguments as a list
    ///     (`print(values…)`); parameters after it in `parameters` are keyword-only.
    public init(_ name: String, _ parameters: String = "", variadic: String? = nil, method: Bool = false,
                doc: String, example: String, body: @escaping (Arguments) throws -> Value) {
        self.name = name
        self.signature = Signature(parsing: parameters, variadic: variadic, for: name)
        self.doc = doc
        self.example = example
        self.isMethod = method
        self.body = body
    }

    /// A method of a native object (`table.save(path)`), bound to it by the closure.
    public static func method(_ owner: String, _ name: String, _ parameters: String = "", doc: String,
                              body: @escaping (Arguments) throws -> Value) -> Value {
        .function(Function(.builtin(Builtin("\(owner).\(name)", parameters, doc: doc, example: "", body: body))))
    }
}

/// A builtin's parameters: positional-or-keyword ones in order (some with defaults), an
/// optional variadic list, then keyword-only ones.
public struct Signature {
    public struct Parameter {
        public let name: String
        /// Nil: the argument is required.
        public let defaultValue: Value?
        public let isKeywordOnly: Bool
    }

    public let parameters: [Parameter]
    public let variadic: String?

    init(parsing text: String, variadic: String?, for builtin: String) {
        // The parameter list is .snp syntax: parse it as a function header.
        let declaration: FunctionDecl
        do {
            let statements = try Parser.parse(Source(name: "<builtin \(builtin)>", text: "fn f(\(text)) {}"))
            guard case .function(let decl)? = statements.first else { preconditionFailure("builtin \(builtin): bad signature") }
            declaration = decl
        } catch {
            preconditionFailure("builtin \(builtin): bad signature '\(text)': \(error)")
        }
        let requiredCount = variadic == nil ? Int.max : declaration.parameters.prefix { $0.defaultValue == nil }.count
        parameters = declaration.parameters.enumerated().map { i, p in
            Parameter(name: p.name, defaultValue: p.defaultValue.map { Signature.constant($0, builtin) },
                      isKeywordOnly: i >= requiredCount)
        }
        self.variadic = variadic
    }

    /// The value of a literal default (numbers, strings, bools, nil, lists, records, `-x`).
    private static func constant(_ expr: Expr, _ builtin: String) -> Value {
        switch expr {
        case .number(let x, _): return .number(x)
        case .string(let parts, _):
            return .string(parts.map { if case .text(let t) = $0 { return t } else { preconditionFailure("builtin \(builtin): interpolated default") } }.joined())
        case .bool(let b, _): return .bool(b)
        case .null: return .null
        case .list(let items, _): return .list(items.map { constant($0, builtin) })
        case .record(let fields, _): return .record(Record(fields.map { ($0.key, constant($0.value, builtin)) }))
        case .unary(.negate, .number(let x, _), _): return .number(-x)
        default: preconditionFailure("builtin \(builtin): defaults must be literals")
        }
    }

    /// `sum(x, axis: nil, keepdims: false)`, `print(values…, sep: " ")`.
    public func text(name: String) -> String {
        var parts: [String] = []
        for p in parameters where !p.isKeywordOnly { parts.append(p.defaultValue.map { "\(p.name): \($0.summary)" } ?? p.name) }
        if let variadic { parts.append("\(variadic)…") }
        for p in parameters where p.isKeywordOnly { parts.append(p.defaultValue.map { "\(p.name): \($0.summary)" } ?? p.name) }
        return "\(name)(\(parts.joined(separator: ", ")))"
    }

    /// Matches a call's arguments to the parameters: positional ones in order, then keyword
    /// ones by name, then defaults. Too many, unknown, doubled or missing arguments are errors
    /// naming the builtin.
    func bind(_ name: String, positional: [(Value, SourceLocation?)], keyword: [(String, Value, SourceLocation?)]) throws
        -> (values: [String: Value], locations: [String: SourceLocation], given: Set<String>) {
        var values: [String: Value] = [:]
        var locations: [String: SourceLocation] = [:]
        let positionalParameters = parameters.filter { !$0.isKeywordOnly }
        var extra: [Value] = []
        for (i, (value, location)) in positional.enumerated() {
            if i < positionalParameters.count {
                values[positionalParameters[i].name] = value
                locations[positionalParameters[i].name] = location
            } else if variadic != nil {
                extra.append(value)
            } else {
                throw RuntimeError("\(name)() takes \(positionalParameters.count) positional argument\(positionalParameters.count == 1 ? "" : "s"), got \(positional.count); see help(\"\(name)\")")
            }
        }
        if let variadic { values[variadic] = .list(extra) }
        for (label, value, location) in keyword {
            guard parameters.contains(where: { $0.name == label }) else {
                let known = parameters.map(\.name).joined(separator: ", ")
                throw RuntimeError("\(name)() has no parameter '\(label)'" + (known.isEmpty ? "" : " (it takes \(known))"))
            }
            guard values[label] == nil else { throw RuntimeError("\(name)(): '\(label)' is given twice", parameter: label) }
            values[label] = value
            locations[label] = location
        }
        let given = Set(values.keys)
        for p in parameters where values[p.name] == nil {
            guard let d = p.defaultValue else { throw RuntimeError("\(name)(): missing argument '\(p.name)'; see help(\"\(name)\")") }
            values[p.name] = d
        }
        return (values, locations, given)
    }
}

/// A group of builtins for one domain (core, tensors, models, …), one file each.
public struct BuiltinDomain {
    public let name: String
    /// A sentence on what the domain covers, shown by `help()` and in Docs/language.md.
    public let doc: String
    public let builtins: [Builtin]

    public init(_ name: String, doc: String, builtins: [Builtin]) {
        self.name = name
        self.doc = doc
        self.builtins = builtins
    }
}
