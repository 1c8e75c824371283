import Engine
import Foundation

extension BuiltinDomain {
    /// Elementwise functions and reductions.
    static let math = BuiltinDomain("math", doc: "elementwise functions and reductions. On numbers they give numbers; on tensors, tensors (with gradients).", builtins: [
        unary("exp", "eˣ", Foundation.exp) { $0.exp() },
        unary("log", "the natural logarithm (log of a negative number is nan)", Foundation.log) { $0.log() },
        unary("sqrt", "the square root", Foundation.sqrt) { $0.sqrt() },
        unary("abs", "|x|", Swift.abs) { $0.abs() },
        unary("tanh", "the hyperbolic tangent", Foundation.tanh) { $0.tanh() },
        unary("sigmoid", "1 / (1 + e⁻ˣ)", { 1 / (1 + Foundation.exp(-$0)) }) { $0.sigmoid() },
        unary("silu", "x · sigmoid(x) (swish)", { $0 / (1 + Foundation.exp(-$0)) }) { $0.silu() },
        unary("gelu", "the Gaussian error linear unit, x · Φ(x) (exact, as torch's default)", { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }) { $0.gelu() },
        Builtin("softmax", "x, axis: -1", method: true, doc: "exp(x) normalised to sum to 1 along `axis`, computed stably.",
                example: "softmax(tensor([1, 2, 3]))") { args in
            .tensor(try args.tensor("x").softmax(axis: try args.int("axis")))
        },
        Builtin("clamp", "x, min: nil, max: nil", method: true, doc: "Limits every element to [min, max] (either bound may be nil).",
                example: "clamp(randn([4]), min: -1, max: 1)") { args in
            let lo = try args.optionalNumber("min").map(Float.init), hi = try args.optionalNumber("max").map(Float.init)
            if case .number(let x) = args["x"] { return .number(Swift.min(Swift.max(x, Double(lo ?? -.infinity)), Double(hi ?? .infinity))) }
            return .tensor(try args.tensor("x").clamp(min: lo, max: hi))
        },
        Builtin("round", "x, digits: 0", method: true,
                doc: "Rounds to `digits` decimal places (half away from zero) — a number, or every element of a tensor (no gradient flows through rounding).",
                example: "round(0.958333, digits: 3)   # 0.958") { args in
            let digits = try args.int("digits")
            guard (0...15).contains(digits) else { throw RuntimeError("round(): digits must be in 0…15, got \(digits)", parameter: "digits") }
            let scale = Foundation.pow(10, Double(digits))
            func rounded(_ x: Double) -> Double { (x * scale).rounded(.toNearestOrAwayFromZero) / scale }
            if case .number(let x) = args["x"] { return .number(rounded(x)) }
            let t = try args.tensor("x")
            return .tensor(try Tensor(t.scalars.map { Float(rounded(Double($0))) }, shape: t.shape))
        },
        reduction("sum", "The sum") { t, axes, keep in try t.sum(axes: axes, keepDims: keep) },
        reduction("mean", "The mean") { t, axes, keep in try t.mean(axes: axes, keepDims: keep) },
        reduction("max", "The largest element (gradients shared among ties)") { t, axes, keep in try t.max(axes: axes, keepDims: keep) },
        reduction("min", "The smallest element (gradients shared among ties)") { t, axes, keep in try t.min(axes: axes, keepDims: keep) },
        Builtin("var", "x, axis: nil, keepdims: false, correction: 1", method: true,
                doc: "The variance over `axis` (all elements if nil), dividing by n − correction: 1 is the unbiased estimate (torch's default), 0 the population variance (NumPy's).",
                example: "var(tensor([1, 2, 3, 4]))   # 1.6667") { args in
            let t = try args.tensor("x")
            let out = try t.variance(axes: try args.axes("axis"), correction: try args.int("correction"), keepDims: try args.bool("keepdims"))
            return numberIfScalar(out, input: args["x"])
        },
        Builtin("argmax", "x, axis: nil", method: true,
                doc: "The index of the largest element along `axis` (of the flattened tensor if nil); the first of ties wins.",
                example: "argmax(tensor([3, 9, 2]))   # 1") { args in
            let out = try args.tensor("x").argmax(axis: try args.optionalInt("axis"))
            return numberIfScalar(out, input: args["x"])
        },
    ])

    /// An elementwise function: numbers to numbers, tensors to tensors.
    private static func unary(_ name: String, _ what: String, _ scalar: @escaping (Double) -> Double,
                              _ tensor: @escaping (Tensor) -> Tensor) -> Builtin {
        Builtin(name, "x", method: true, doc: "Elementwise \(what), of a number or a tensor.",
                example: "\(name)(tensor([0.5, 1, 2]))") { args in
            if case .number(let x) = args["x"] { return .number(scalar(x)) }
            return .tensor(tensor(try args.tensor("x")))
        }
    }

    private static func reduction(_ name: String, _ what: String,
                                  _ reduce: @escaping (Tensor, [Int]?, Bool) throws -> Tensor) -> Builtin {
        Builtin(name, "x, axis: nil, keepdims: false", method: true,
                doc: "\(what) over `axis` (an axis or a list of axes; all elements if nil), keeping the reduced axes as size 1 with `keepdims`. A list of numbers gives a number.",
                example: "\(name)(tensor([[1, 2], [3, 4]]), axis: 0)") { args in
            numberIfScalar(try reduce(try args.tensor("x"), try args.axes("axis"), try args.bool("keepdims")), input: args["x"])
        }
    }
}

/// A reduction of a list or number stays a number; of a tensor, a tensor.
private func numberIfScalar(_ t: Tensor, input: Value) -> Value {
    if case .tensor = input { return .tensor(t) }
    return t.count == 1 ? .from(t.scalars[0]) : .tensor(t)
}
