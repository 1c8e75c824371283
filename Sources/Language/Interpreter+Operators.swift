import Engine
import Foundation

extension Interpreter {
    /// `a op b`. Numbers with numbers give numbers (division by zero gives ±inf or nan, as
    /// IEEE does); with a tensor on either side the engine broadcasts; `+` also joins strings
    /// and lists; `==` / `!=` compare any two values.
    func binary(_ op: BinaryOperator, _ a: Value, _ b: Value, at location: SourceLocation) throws -> Value {
        switch (a, b) {
        case let (.number(x), .number(y)):
            switch op {
            case .add: return .number(x + y)
            case .subtract: return .number(x - y)
            case .multiply: return .number(x * y)
            case .divide: return .number(x / y)
            case .remainder: return .number(x - y * (x / y).rounded(.down))
            case .power: return .number(Foundation.pow(x, y))
            case .less: return .bool(x < y)
            case .lessEqual: return .bool(x <= y)
            case .greater: return .bool(x > y)
            case .greaterEqual: return .bool(x >= y)
            case .equal: return .bool(x == y)
            case .notEqual: return .bool(x != y)
            case .matmul: break
            }
        case let (.string(x), .string(y)):
            switch op {
            case .add: return .string(x + y)
            case .less: return .bool(x < y)
            case .lessEqual: return .bool(x <= y)
            case .greater: return .bool(x > y)
            case .greaterEqual: return .bool(x >= y)
            default: break
            }
        case let (.list(x), .list(y)) where op == .add:
            return .list(x + y)
        default:
            break
        }
        if isTensorLike(a) && isTensorLike(b), case .tensor = a {
            return try tensorBinary(op, a, b, at: location)
        }
        if isTensorLike(a) && isTensorLike(b), case .tensor = b {
            return try tensorBinary(op, a, b, at: location)
        }
        switch op {
        case .equal: return .bool(equal(a, b))
        case .notEqual: return .bool(!equal(a, b))
        default:
            throw LanguageError(.runtime, "'\(op.rawValue)' cannot combine \(a.described) and \(b.described)", at: location)
        }
    }

    private func isTensorLike(_ v: Value) -> Bool {
        switch v {
        case .tensor, .number: return true
        default: return false
        }
    }

    private func tensorBinary(_ op: BinaryOperator, _ a: Value, _ b: Value, at location: SourceLocation) throws -> Value {
        try engine(at: location) {
            // Scalars stay scalars so the engine takes its fast scalar paths.
            switch (a, b, op) {
            case let (.tensor(t), .number(s), .add): return .tensor(t + Float(s))
            case let (.number(s), .tensor(t), .add): return .tensor(Float(s) + t)
            case let (.tensor(t), .number(s), .subtract): return .tensor(t - Float(s))
            case let (.number(s), .tensor(t), .subtract): return .tensor(Float(s) - t)
            case let (.tensor(t), .number(s), .multiply): return .tensor(t * Float(s))
            case let (.number(s), .tensor(t), .multiply): return .tensor(Float(s) * t)
            case let (.tensor(t), .number(s), .divide): return .tensor(t / Float(s))
            case let (.number(s), .tensor(t), .divide): return .tensor(Float(s) / t)
            case let (.tensor(t), .number(s), .power): return .tensor(t.pow(Float(s)))
            default: break
            }
            let x = try Interpreter.tensor(from: a)!, y = try Interpreter.tensor(from: b)!
            switch op {
            case .add: return .tensor(try x + y)
            case .subtract: return .tensor(try x - y)
            case .multiply: return .tensor(try x * y)
            case .divide: return .tensor(try x / y)
            case .power: return .tensor(try Tensor.pow(x, y))
            case .remainder: return .tensor(try x - y * (x / y).detachedFloor())
            case .matmul: return .tensor(try Tensor.matmul(x, y))
            case .less: return .tensor(try x.less(y))
            case .lessEqual: return .tensor(try x.lessEqual(y))
            case .greater: return .tensor(try x.greater(y))
            case .greaterEqual: return .tensor(try x.greaterEqual(y))
            case .equal: return .tensor(try x.equal(y))
            case .notEqual: return .tensor(try x.notEqual(y))
            }
        }
    }

    /// Structural equality; tensors by identity (use `allclose` or `==` with a tensor for values).
    func equal(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case (.null, .null): return true
        case let (.list(x), .list(y)): return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case let (.record(x), .record(y)):
            return x.keys == y.keys && x.keys.allSatisfy { equal(x[$0] ?? .null, y[$0] ?? .null) }
        case let (.range(x), .range(y)): return x.start == y.start && x.end == y.end && x.step == y.step
        case let (.function(x), .function(y)): return x === y
        case let (.tensor(x), .tensor(y)): return x === y
        case let (.object(x), .object(y)): return x === y
        default: return false
        }
    }

    /// Runs engine (and other lower-layer) code, turning its thrown errors into runtime errors
    /// at `location`.
    func engine<T>(at location: SourceLocation?, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as LanguageError {
            throw error
        } catch let error as RuntimeError {
            throw LanguageError(.runtime, error.message, at: location)
        } catch {
            throw LanguageError(.runtime, "\(error)", at: location)
        }
    }
}

extension Tensor {
    /// ⌊x⌋ elementwise, outside autodiff (its gradient is zero almost everywhere).
    func detachedFloor() -> Tensor {
        let out = copy()
        out.withMutableBuffer { buffer in for i in buffer.indices { buffer[i] = buffer[i].rounded(.down) } }
        return out
    }
}
