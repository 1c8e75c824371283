import Engine

extension BuiltinDomain {
    /// Making tensors and moving their elements around.
    static let tensors = BuiltinDomain("tensors", doc: "making tensors (Float32, row-major) and changing their shape.", builtins: [
        Builtin("tensor", "data",
                doc: "A tensor from a number, a (nested) list of numbers, a range, or a list of same-shaped tensors (stacked); a tensor is copied.",
                example: "let x = tensor([[1, 2], [3, 4]])   # tensor[2,2] [[1, 2], [3, 4]]") { args in
            let t = try args.tensor("data")
            if case .tensor = args["data"] { return .tensor(t.copy()) }
            return .tensor(t)
        },
        Builtin("zeros", "shape", doc: "A tensor of zeros. `shape` is a list of sizes (or one size).",
                example: "zeros([2, 3])") { args in .tensor(Tensor.zeros(try args.shape("shape"))) },
        Builtin("ones", "shape", doc: "A tensor of ones. `shape` is a list of sizes (or one size).", example: "ones([4])") { args in .tensor(Tensor.ones(try args.shape("shape"))) },
        Builtin("full", "shape, value", doc: "A tensor with every element `value`.", example: "full([2, 2], 0.5)") { args in
            .tensor(Tensor.full(try args.shape("shape"), Float(try args.number("value"))))
        },
        Builtin("randn", "shape, seed: nil, mean: 0, std: 1",
                doc: "Normal random numbers. With `seed`, from a fresh Philox generator (the same seed gives the same numbers on any machine and thread count); without, from the shared generator (see `seed`).",
                example: "let eps = randn([4, 3, 16, 16], seed: 7)") { args in
            let shape = try args.shape("shape")
            let generator = try args.optionalSeed("seed").map { RandomGenerator(seed: $0) }
            return .tensor(try Tensor.randn(shape, mean: Float(try args.number("mean")), std: Float(try args.number("std")), generator: generator))
        },
        Builtin("rand", "shape, seed: nil, low: 0, high: 1",
                doc: "Uniform random numbers in [low, high), seeded as `randn`.", example: "rand([3], seed: 1)") { args in
            let shape = try args.shape("shape")
            let generator = try args.optionalSeed("seed").map { RandomGenerator(seed: $0) }
            return .tensor(try Tensor.rand(shape, low: Float(try args.number("low")), high: Float(try args.number("high")), generator: generator))
        },
        Builtin("arange", "start, end: nil, step: 1",
                doc: "`start, start + step, …` up to, not including, `end` as a 1-d tensor; with one argument, from 0 to it.",
                example: "arange(5)   # tensor[5] [0, 1, 2, 3, 4]") { args in
            var start = try args.number("start"), end = 0.0
            if let e = try args.optionalNumber("end") { end = e } else { (start, end) = (0, start) }
            let step = try args.number("step")
            guard step != 0, step.isFinite else { throw RuntimeError("arange(): step must be finite and non-zero", parameter: "step") }
            try Interpreter.checkShape([max(0, Int(min(((end - start) / step).rounded(.up), 4e18)))], name: "arange()")
            return .tensor(try Tensor.arange(Float(start), Float(end), step: Float(step)))
        },
        Builtin("linspace", "start, end, count: 50",
                doc: "`count` evenly spaced numbers from `start` to `end`, both included.",
                example: "linspace(0, 1, count: 5)   # tensor[5] [0, 0.25, 0.5, 0.75, 1]") { args in
            let count = try args.count("count")
            try Interpreter.checkShape([count], name: "linspace()")
            return .tensor(try Tensor.linspace(Float(try args.number("start")), Float(try args.number("end")), count: count))
        },
        Builtin("shape", "x", doc: "A tensor's shape as a list of sizes (also `x.shape`).",
                example: "shape(zeros([2, 3]))   # [2, 3]") { args in .numbers(try args.tensor("x").shape) },
        Builtin("reshape", "x, shape", method: true,
                doc: "The same elements in a new shape; one size may be -1 (inferred). Shares the elements.",
                example: "reshape(arange(6), [2, -1])   # tensor[2,3]") { args in
            let t = try args.tensor("x")
            guard case .list(let items) = args["shape"] else { throw args.mistake("shape", "a list of sizes") }
            let dims = try items.map { item -> Int in
                guard case .number(let x) = item, let i = exactInt(x), i >= -1 else { throw args.mistake("shape", "a list of sizes (one may be -1)") }
                return i
            }
            try Interpreter.checkShape(dims.map { max($0, 0) }, name: "reshape()")
            return .tensor(try t.reshape(dims))
        },
        Builtin("transpose", "x, a: -2, b: -1", method: true, doc: "Swaps two axes (the last two by default; `x.T` too).",
                example: "transpose(zeros([2, 3]))   # tensor[3,2]") { args in
            .tensor(try args.tensor("x").transpose(try args.int("a"), try args.int("b")))
        },
        Builtin("permute", "x, order", method: true, doc: "Reorders the axes: axis i of the result is axis order[i] of x.",
                example: "permute(zeros([2, 3, 4]), [2, 0, 1])   # tensor[4,2,3]") { args in
            guard let order = try args.axes("order") else { throw args.mistake("order", "a list of axes") }
            return .tensor(try args.tensor("x").permute(order))
        },
        Builtin("concat", "tensors, axis: 0", doc: "Joins a list of tensors along an existing axis.",
                example: "concat([ones([2]), zeros([3])])   # tensor[5]") { args in
            .tensor(try Tensor.concat(try tensorList(args, "tensors"), axis: try args.int("axis")))
        },
        Builtin("stack", "tensors, axis: 0", doc: "Joins a list of same-shaped tensors along a new axis.",
                example: "stack([ones([2]), zeros([2])])   # tensor[2,2]") { args in
            .tensor(try Tensor.stack(try tensorList(args, "tensors"), axis: try args.int("axis")))
        },
        Builtin("where", "condition, a, b",
                doc: "Elementwise choice: `a` where `condition` is non-zero, else `b` (all three broadcast).",
                example: "where(x > 0, x, 0)   # relu") { args in
            .tensor(try Tensor.where(try args.tensor("condition"), try args.tensor("a"), try args.tensor("b")))
        },
        Builtin("allclose", "a, b, rtol: 1e-5, atol: 1e-8",
                doc: "True when the tensors have one shape (after broadcasting) and |a − b| ≤ atol + rtol·|b| everywhere.",
                example: "assert(allclose(x @ eye, x))") { args in
            let a = try args.tensor("a"), b = try args.tensor("b")
            let rtol = try args.number("rtol"), atol = try args.number("atol")
            let difference = try noGrad { try (a - b).abs() }
            let bound = noGrad { b.abs() * Float(rtol) + Float(atol) }
            let exceeds = try difference.greater(bound)
            let ok = try noGrad { try exceeds.sum().item() } == 0
            return .bool(ok && !a.scalars.contains(where: \.isNaN) && !b.scalars.contains(where: \.isNaN))
        },
        Builtin("item", "x", method: true, doc: "The number in a one-element tensor.",
                example: "item(sum(ones([3])))   # 3") { args in .from(try args.tensor("x").item()) },
    ])
}

/// A list argument whose items are tensors (or convert to them).
func tensorList(_ args: Arguments, _ p: String) throws -> [Tensor] {
    let items = try args.list(p)
    guard !items.isEmpty else { throw args.mistake(p, "a non-empty list of tensors") }
    return try items.map { item in
        guard let t = try Interpreter.tensor(from: item) else { throw args.mistake(p, "a list of tensors") }
        return t
    }
}
