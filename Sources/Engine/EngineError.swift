/// Every mistake a caller can make with the engine: a thrown error that names the operation and
/// the shapes or arguments involved. The engine never traps on bad input from its public API.
public enum EngineError: Error, Equatable, CustomStringConvertible {
    /// Two shapes that an operation needs to agree do not (e.g. broadcasting, concat).
    case shapeMismatch(op: String, shapes: [[Int]], reason: String)
    /// An argument out of its allowed range (an axis, a size, a probability, ...).
    case invalidArgument(op: String, reason: String)
    /// A scalar was asked of a tensor that holds more or fewer than one element.
    case notAScalar(op: String, shape: [Int])
    /// backward() on a graph whose tape was already released, or on a tensor without gradient.
    case autograd(reason: String)
    /// A saved state (RNG, optimizer) that does not fit what it is being restored into.
    case invalidState(what: String, reason: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, shapes, reason):
            return "\(op): \(reason): " + shapes.map(shapeString).joined(separator: ", ")
        case let .invalidArgument(op, reason):
            return "\(op): \(reason)"
        case let .notAScalar(op, shape):
            return "\(op): expected a tensor with one element, got shape \(shapeString(shape))"
        case let .autograd(reason):
            return "backward: \(reason)"
        case let .invalidState(what, reason):
            return "\(what): \(reason)"
        }
    }
}

/// `[2,3]` — how shapes appear in messages.
public func shapeString(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ",") + "]" }
