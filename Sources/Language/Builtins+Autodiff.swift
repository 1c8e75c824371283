import Engine

extension BuiltinDomain {
    /// Gradients of `.snp` functions through the engine's tape.
    static let autodiff = BuiltinDomain("autodiff", doc: "gradients of functions written in .snp, through the engine's reverse-mode tape.", builtins: [
        Builtin("grad", "f, wrt",
                doc: "The gradient of `f`'s result (a number or one-element tensor) with respect to `wrt`: a tensor, a number, or a list or record of them; the result has the same structure. `f` is called with the `wrt` values as its arguments when it declares parameters (a list spreads, a record binds by name), else with none (it reads them from its closure). Other tensors that require grad (a model's weights) accumulate gradients too, as with PyTorch's backward.",
                example: "let w = randn([3], seed: 0)\nlet g = grad(fn(w) { sum(w ** 2) }, wrt: w)   # 2 * w") { args in
            try differentiate(args).grad
        },
        Builtin("value_and_grad", "f, wrt",
                doc: "Like `grad`, but returns `{value: f's result, grad: the gradient}` from one evaluation.",
                example: "let r = value_and_grad(fn(x) { x ** 3 }, wrt: 2)   # {value: 8, grad: 12}") { args in
            let (value, gradient) = try differentiate(args)
            return .record(Record([("value", value), ("grad", gradient)]))
        },
        Builtin("no_grad", "f",
                doc: "Calls `f()` with gradient recording off (inference: less memory, no tape) and returns its value.",
                example: "let y = no_grad(fn() { x @ w })") { args in
            let f = try args.function("f")
            return try noGrad { try args.interpreter.call(f, [], at: args.location) }
        },
        Builtin("detach", "x", method: true,
                doc: "The same numbers cut off from the gradient tape (gradients do not flow back through it).",
                example: "let target = detach(prediction)") { args in .tensor(try args.tensor("x").detach()) },
    ])
}

/// One `wrt` leaf: the tensor differentiated, and whether it came in as a number.
private struct Leaf {
    let tensor: Tensor
    let wasNumber: Bool
    let savedRequiresGrad: Bool
    let savedGrad: Tensor?
}

/// Evaluates `f` with the `wrt` leaves tracking gradients and back-propagates.
private func differentiate(_ args: Arguments) throws -> (value: Value, grad: Value) {
    let f = try args.function("f")
    var leaves: [Leaf] = []
    func leaf(_ v: Value) throws -> Value {
        switch v {
        case .number(let x):
            let t = Tensor(scalar: Float(x))
            leaves.append(Leaf(tensor: t, wasNumber: true, savedRequiresGrad: false, savedGrad: nil))
            return .tensor(t)
        case .tensor(let t):
            guard t.gradOp == nil else {
                throw RuntimeError("\(args.name)(): wrt must hold leaf tensors (not results of operations); pass detach(x) or the original tensor", parameter: "wrt")
            }
            leaves.append(Leaf(tensor: t, wasNumber: false, savedRequiresGrad: t.requiresGrad, savedGrad: t.grad))
            return v
        default: throw args.mistake("wrt", "a tensor, a number, or a list or record of them")
        }
    }
    let wrt = args["wrt"]
    var positional: [Value] = [], keyword: [(String, Value)] = []
    switch wrt {
    case .list(let items): positional = try items.map(leaf)
    case .record(let r): keyword = try r.fields.map { ($0.key, try leaf($0.value)) }
    default: positional = [try leaf(wrt)]
    }
    for l in leaves { l.tensor.requiresGrad = true; l.tensor.grad = nil }
    defer { for l in leaves where !l.wasNumber { l.tensor.requiresGrad = l.savedRequiresGrad; l.tensor.grad = l.savedGrad } }

    let takesArguments: Bool
    if case .user(let decl, _) = f.kind { takesArguments = !decl.parameters.isEmpty } else { takesArguments = true }
    let result = try GradMode.with(enabled: true) {
        try args.interpreter.call(f, takesArguments ? positional : [], keyword: takesArguments ? keyword : [], at: args.location)
    }
    let output: Tensor
    switch result {
    case .number: output = Tensor(scalar: 0)
    case .tensor(let t):
        guard t.count == 1 else { throw RuntimeError("\(args.name)(): f must return a number or a one-element tensor, got tensor \(shapeString(t.shape)); reduce it with sum or mean") }
        output = t
    default: throw RuntimeError("\(args.name)(): f must return a number or a one-element tensor, got \(result.described)")
    }
    if output.tracksGrad { try output.backward() }
    let grads: [Value] = leaves.map { l in
        let g = l.tensor.grad ?? Tensor.zeros(l.tensor.shape)
        return l.wasNumber ? .from(g.scalars[0]) : .tensor(g)
    }
    let gradient: Value
    switch wrt {
    case .list: gradient = .list(grads)
    case .record(let r): gradient = .record(Record(Array(zip(r.keys, grads))))
    default: gradient = grads[0]
    }
    // A function of numbers gives a number, as it would without differentiation.
    let value: Value
    if case .number = result { value = result } else if leaves.allSatisfy(\.wasNumber) { value = .from(output.scalars[0]) } else { value = .tensor(output.detach()) }
    return (value, gradient)
}
