/// The syntax tree. Every node keeps the location of the token that best names it (the
/// operator of a binary expression, the `(` of a call), where errors about it point.
public indirect enum Expr {
    case number(Double, SourceLocation)
    case string([InterpolatedPart], SourceLocation)
    case bool(Bool, SourceLocation)
    case null(SourceLocation)
    case variable(String, SourceLocation)
    case list([Expr], SourceLocation)
    case record([(key: String, value: Expr)], SourceLocation)
    case range(Expr, Expr, closed: Bool, SourceLocation)
    case unary(UnaryOperator, Expr, SourceLocation)
    case binary(BinaryOperator, Expr, Expr, SourceLocation)
    /// `and` / `or`, which evaluate their right side only when needed.
    case logical(isAnd: Bool, Expr, Expr, SourceLocation)
    case call(Expr, [Argument], SourceLocation)
    case index(Expr, [Subscript], SourceLocation)
    case member(Expr, String, SourceLocation)
    case function(FunctionDecl)

    public var location: SourceLocation {
        switch self {
        case .number(_, let l), .string(_, let l), .bool(_, let l), .null(let l), .variable(_, let l),
             .list(_, let l), .record(_, let l), .range(_, _, _, let l), .unary(_, _, let l),
             .binary(_, _, _, let l), .logical(_, _, _, let l), .call(_, _, let l), .index(_, _, let l),
             .member(_, _, let l):
            return l
        case .function(let f): return f.location
        }
    }
}

/// A piece of an interpolated string: literal text, or an expression with an optional format.
public enum InterpolatedPart {
    case text(String)
    case expression(Expr, format: String?)
}

/// One argument of a call: positional (`label` nil) or keyword (`scale: 0.5`).
public struct Argument {
    public let label: String?
    public let value: Expr
    public let location: SourceLocation
}

/// One entry between the brackets of `x[…]`: an index, or a `start:end:step` slice.
public enum Subscript {
    case index(Expr)
    case slice(start: Expr?, end: Expr?, step: Expr?, SourceLocation)
}

public enum UnaryOperator: String {
    case negate = "-", not = "not"
}

public enum BinaryOperator: String {
    case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%", power = "**", matmul = "@"
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
}

/// `fn name(a, b: 2) { … }` or the anonymous `fn(x) { x * 2 }`.
public final class FunctionDecl {
    public let name: String?
    public let parameters: [Parameter]
    public let body: [Stmt]
    public let location: SourceLocation

    public struct Parameter {
        public let name: String
        public let defaultValue: Expr?
        public let location: SourceLocation
    }

    init(name: String?, parameters: [Parameter], body: [Stmt], location: SourceLocation) {
        self.name = name
        self.parameters = parameters
        self.body = body
        self.location = location
    }
}

public indirect enum Stmt {
    case expression(Expr)
    case `let`(String, Expr, SourceLocation)
    /// `target = value`, or `target op= value` with the operator.
    case assign(Expr, BinaryOperator?, Expr, SourceLocation)
    case function(FunctionDecl)
    case `if`([(condition: Expr, body: [Stmt])], otherwise: [Stmt]?, SourceLocation)
    case `for`(String, Expr, [Stmt], SourceLocation)
    case `while`(Expr, [Stmt], SourceLocation)
    case `return`(Expr?, SourceLocation)
    case `break`(SourceLocation)
    case `continue`(SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .expression(let e): return e.location
        case .let(_, _, let l), .assign(_, _, _, let l), .if(_, _, let l), .for(_, _, _, let l), .while(_, _, let l),
             .return(_, let l), .break(let l), .continue(let l):
            return l
        case .function(let f): return f.location
        }
    }
}
