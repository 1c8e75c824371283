import Engine
import Foundation

/// Runs `.snp` programs: a tree-walking interpreter over `Value`s with lexical scopes and
/// closures. One interpreter is one session: variables persist from one `run` to the next (the
/// REPL, a notebook's cells). Printed text goes through `output`; pictures that builtins write
/// are listed in `pictures` so a notebook can embed them.
public final class Interpreter {
    public let registry: BuiltinRegistry
    /// The session's variables (`args` among them).
    public let globals = Environment()
    /// Where `print` and the other builtins' text goes (stdout by default). Receives whole
    /// lines, each ending in "\n".
    public var output: (String) -> Void = { text in FileHandle.standardOutput.write(Data(text.utf8)) }
    /// Progress and warnings that are not the program's output (stderr by default).
    public var diagnostics: (String) -> Void = { text in FileHandle.standardError.write(Data(text.utf8)) }
    /// Where `show`, `plot` and `grid` write pictures that were given no path.
    public var pictureDirectory: String
    /// Every PNG a builtin wrote, in order (paths as written).
    public private(set) var pictures: [String] = []
    /// What the script reported with `result(…)`, fields merged in call order.
    public internal(set) var result = Record()
    /// Calls nested deeper than this are an error (runaway recursion).
    public var maximumCallDepth = 1000

    var callDepth = 0
    var stack = StackGuard()
    private var pictureCounter = 0

    /// - Parameters:
    ///   - arguments: the script's extra words, bound to `args`.
    public init(registry: BuiltinRegistry = .standard(), arguments: [String] = []) {
        self.registry = registry
        // SNP_PICTURE_DIR: where a batch runner wants a job's unnamed pictures.
        pictureDirectory = ProcessInfo.processInfo.environment["SNP_PICTURE_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("snp-pictures-\(getpid())").path
        globals.define("args", .list(arguments.map { .string($0) }))
    }

    // MARK: - Running

    /// Parses and runs `text`. Returns the value of the last statement when it is an
    /// expression (what the REPL prints), else nil.
    @discardableResult
    public func run(_ text: String, name: String = "<input>") throws -> Value? {
        try run(Source(name: name, text: text))
    }

    /// Parses and runs lines `firstLine..<endLine` of `source` (all of it by default).
    @discardableResult
    public func run(_ source: Source, firstLine: Int = 1, endLine: Int? = nil) throws -> Value? {
        let statements = try Parser.parse(source, firstLine: firstLine, endLine: endLine)
        return try execute(statements)
    }

    /// Runs parsed statements in the global scope.
    @discardableResult
    public func execute(_ statements: [Stmt]) throws -> Value? {
        if callDepth == 0 { stack = StackGuard() }
        switch try executeBlock(statements, in: globals) {
        case .normal(let value): return value
        case .returned(let value): return value
        case .breakLoop(let location), .continueLoop(let location):
            throw LanguageError(.runtime, "'break' or 'continue' outside a loop", at: location)
        }
    }

    /// Writes text to `output` as one line.
    public func print(_ text: String) { output(text.hasSuffix("\n") ? text : text + "\n") }

    /// Notes a PNG a builtin wrote, for notebooks.
    public func recordPicture(_ path: String) { pictures.append(path) }

    /// A fresh path in `pictureDirectory` for a picture named after `stem` (its folder made).
    public func newPicturePath(_ stem: String) throws -> String {
        try FileManager.default.createDirectory(atPath: pictureDirectory, withIntermediateDirectories: true)
        pictureCounter += 1
        return (pictureDirectory as NSString).appendingPathComponent("\(stem)-\(pictureCounter).png")
    }

    /// Stops at a safe point when Ctrl-C was pressed (`Interruption`); clears the request.
    func checkInterruption(at location: SourceLocation?) throws {
        if Interruption.isRequested {
            Interruption.clear()
            throw LanguageError(.interrupted, "interrupted", at: location)
        }
    }

    // MARK: - Statements

    /// How a statement finished: normally (with the value of an expression statement), or by
    /// `break`, `continue`, `return`.
    enum Completion {
        case normal(Value?)
        case breakLoop(SourceLocation)
        case continueLoop(SourceLocation)
        case returned(Value)
    }

    func executeBlock(_ statements: [Stmt], in environment: Environment) throws -> Completion {
        var last: Value? = nil
        for statement in statements {
            let completion = try execute(statement, in: environment)
            guard case .normal(let value) = completion else { return completion }
            last = value
        }
        return .normal(last)
    }

    func execute(_ statement: Stmt, in env: Environment) throws -> Completion {
        switch statement {
        case .expression(let expr):
            return .normal(try evaluate(expr, in: env))
        case let .let(name, expr, _):
            env.define(name, try evaluate(expr, in: env))
            return .normal(nil)
        case let .assign(target, op, expr, location):
            try assign(target, op, expr, at: location, in: env)
            return .normal(nil)
        case .function(let decl):
            // Defined before the body runs, so the function can call itself.
            env.define(decl.name ?? "fn", .function(Function(.user(decl, env))))
            return .normal(nil)
        case let .if(branches, otherwise, _):
            return try executeIf(branches, otherwise, in: env)
        case let .while(condition, body, location):
            return try executeWhile(condition, body, at: location, in: env)
        case let .for(name, sequence, body, location):
            return try executeFor(name, sequence, body, at: location, in: env)
        case let .return(expr, location):
            guard callDepth > 0 else { throw LanguageError(.runtime, "'return' outside a function", at: location) }
            return .returned(try expr.map { try evaluate($0, in: env) } ?? .null)
        case .break(let location):
            return .breakLoop(location)
        case .continue(let location):
            return .continueLoop(location)
        }
    }

    private func assign(_ target: Expr, _ op: BinaryOperator?, _ expr: Expr, at location: SourceLocation, in env: Environment) throws {
        var value = try evaluate(expr, in: env)
        if let op { value = try binary(op, try evaluate(target, in: env), value, at: location) }
        try assign(value, to: target, in: env)
    }

    private func executeIf(_ branches: [(condition: Expr, body: [Stmt])], _ otherwise: [Stmt]?, in env: Environment) throws -> Completion {
        for (condition, body) in branches where try truth(evaluate(condition, in: env), at: condition.location, context: "if") {
            return try executeBlock(body, in: Environment(parent: env))
        }
        if let otherwise { return try executeBlock(otherwise, in: Environment(parent: env)) }
        return .normal(nil)
    }

    private func executeWhile(_ condition: Expr, _ body: [Stmt], at location: SourceLocation, in env: Environment) throws -> Completion {
        while try truth(evaluate(condition, in: env), at: condition.location, context: "while") {
            try checkInterruption(at: location)
            switch try executeBlock(body, in: Environment(parent: env)) {
            case .breakLoop: return .normal(nil)
            case .returned(let v): return .returned(v)
            case .normal, .continueLoop: continue
            }
        }
        return .normal(nil)
    }

    private func executeFor(_ name: String, _ sequenceExpr: Expr, _ body: [Stmt], at location: SourceLocation, in env: Environment) throws -> Completion {
        let sequence = try evaluate(sequenceExpr, in: env)
        let count = try iterationCount(sequence, at: sequenceExpr.location)
        for i in 0..<count {
            try checkInterruption(at: location)
            let scope = Environment(parent: env)
            scope.define(name, try element(of: sequence, at: i, location: sequenceExpr.location))
            switch try executeBlock(body, in: scope) {
            case .breakLoop: return .normal(nil)
            case .returned(let v): return .returned(v)
            case .normal, .continueLoop: continue
            }
        }
        return .normal(nil)
    }

    /// How many items `for` visits in `sequence`.
    private func iterationCount(_ sequence: Value, at location: SourceLocation) throws -> Int {
        switch sequence {
        case .list(let items): return items.count
        case .range(let r): return r.count
        case .string(let s): return s.count
        case .record(let r): return r.count
        case .tensor(let t):
            guard t.rank >= 1 else { throw LanguageError(.runtime, "cannot loop over a 0-d tensor (a single number)", at: location) }
            return t.shape[0]
        case .object(let o):
            if let seq = o as? IterableObject { return seq.iterationCount }
            fallthrough
        default:
            throw LanguageError(.runtime, "cannot loop over \(sequence.described); expected a list, range, tensor, record or string", at: location)
        }
    }

    /// Item `i` of a sequence `for` walks: list items, range numbers, string characters,
    /// record keys, a tensor's slices along its first axis.
    private func element(of sequence: Value, at i: Int, location: SourceLocation) throws -> Value {
        switch sequence {
        case .list(let items): return items[i]
        case .range(let r): return .number(Double(r.element(i)))
        case .string(let s): return .string(String(s[s.index(s.startIndex, offsetBy: i)]))
        case .record(let r): return .string(r.keys[i])
        case .tensor(let t): return .tensor(try engine(at: location) { try t.slice([.index(i)]) })
        case .object(let o):
            guard let seq = o as? IterableObject else { return .null }
            return seq.element(i)
        default: return .null
        }
    }
}

/// A native object `for` can walk (a table's rows).
public protocol IterableObject: NativeObject {
    var iterationCount: Int { get }
    func element(_ index: Int) -> Value
}
