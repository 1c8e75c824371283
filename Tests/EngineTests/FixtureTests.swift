import Engine
import Foundation
import Testing

/// Runs one fixture case's op on the engine. Op names and parameters are those written by
/// Scripts/make_engine_fixtures.py.
func applyFixtureOp(_ op: String, _ t: [String: Tensor], _ p: [String: Any]) throws -> Tensor {
    let axes = p["axes"] as? [Int], keep = p["keepdims"] as? Bool ?? false
    let x = t["x"] ?? Tensor.zeros([0])
    switch op {
    case "add": return try t["a"]! + t["b"]!
    case "sub": return try t["a"]! - t["b"]!
    case "mul": return try t["a"]! * t["b"]!
    case "div": return try t["a"]! / t["b"]!
    case "pow": return try Tensor.pow(t["a"]!, t["b"]!)
    case "maximum": return try Tensor.maximum(t["a"]!, t["b"]!)
    case "minimum": return try Tensor.minimum(t["a"]!, t["b"]!)
    case "where": return try Tensor.where(t["cond"]!, t["a"]!, t["b"]!)
    case "exp": return x.exp()
    case "log": return x.log()
    case "sqrt": return x.sqrt()
    case "rsqrt": return x.rsqrt()
    case "abs": return x.abs()
    case "neg": return x.neg()
    case "sin": return x.sin()
    case "cos": return x.cos()
    case "tanh": return x.tanh()
    case "sigmoid": return x.sigmoid()
    case "relu": return x.relu()
    case "silu": return x.silu()
    case "gelu": return x.gelu()
    case "gelu_tanh": return x.gelu(approximate: .tanh)
    case "square": return x.square()
    case "quick_gelu": return x.quickGelu()
    case "clamp": return try x.clamp(min: Float(p["min"] as! Double), max: Float(p["max"] as! Double))
    case "sum": return try x.sum(axes: axes, keepDims: keep)
    case "sum_all": return try x.sum()
    case "mean": return try x.mean(axes: axes, keepDims: keep)
    case "var": return try x.variance(axes: axes, correction: p["correction"] as! Int, keepDims: keep)
    case "max": return try x.max(axes: axes, keepDims: keep)
    case "min": return try x.min(axes: axes, keepDims: keep)
    case "argmax": return try x.argmax(axis: p["axis"] as? Int)
    case "logsumexp": return try x.logsumexp(axes: axes, keepDims: keep)
    case "reshape": return try x.reshape(p["shape"] as! [Int])
    case "permute": return try x.permute(p["order"] as! [Int])
    case "slice":
        let spec = (p["spec"] as! [[String: Any]]).map { s -> SliceIndex in
            if let i = s["index"] as? Int { return .index(i) }
            return .range(start: s["start"] as? Int, end: s["end"] as? Int, step: s["step"] as? Int ?? 1)
        }
        return try x.slice(spec)
    case "concat": return try Tensor.concat([t["a"]!, t["b"]!], axis: p["axis"] as! Int)
    case "stack": return try Tensor.stack([t["a"]!, t["b"]!], axis: p["axis"] as! Int)
    case "pad":
        let pads = (p["padding"] as! [[Int]]).map { (before: $0[0], after: $0[1]) }
        return try x.pad(pads, value: Float(p["value"] as! Double))
    case "repeat": return try x.repeat(p["counts"] as! [Int])
    case "expand": return try x.expand(p["shape"] as! [Int])
    case "index_select": return try x.indexSelect(axis: p["axis"] as! Int, indices: p["indices"] as! [Int])
    case "gather": return try x.gather(axis: p["axis"] as! Int, index: t["index"]!)
    case "matmul": return try Tensor.matmul(t["a"]!, t["b"]!)
    case "matmul_tb": return try Tensor.matmul(t["a"]!, t["b"]!, transposeB: true)
    case "matmul_ta": return try Tensor.matmul(t["a"]!, t["b"]!, transposeA: true)
    case "linear": return try Tensor.linear(x, weight: t["weight"]!, bias: t["bias"])
    case "softmax": return try x.softmax(axis: p["axis"] as! Int)
    case "log_softmax": return try x.logSoftmax(axis: p["axis"] as! Int)
    case "layer_norm": return try x.layerNorm(weight: t["weight"], bias: t["bias"], eps: Float(p["eps"] as! Double))
    case "group_norm": return try x.groupNorm(groups: p["groups"] as! Int, weight: t["weight"], bias: t["bias"], eps: Float(p["eps"] as! Double))
    case "conv2d":
        let s = p["stride"] as! [Int], pad = p["padding"] as! [Int]
        return try Tensor.conv2d(x, weight: t["weight"]!, bias: t["bias"], stride: (s[0], s[1]), padding: (pad[0], pad[1]))
    case "avg_pool2d": return try x.avgPool2d(kernel: p["kernel"] as! Int, stride: p["stride"] as? Int)
    case "upsample_nearest": return try x.upsampleNearest(scale: p["scale"] as! Int)
    case "attention": return try Tensor.scaledDotProductAttention(query: t["q"]!, key: t["k"]!, value: t["v"]!, mask: t["mask"])
    case "embedding": return try Tensor.embedding(t["indices"]!, weight: t["weight"]!)
    default: throw FixtureError.malformed("unknown op \(op)")
    }
}

struct FixtureCase: CustomStringConvertible, @unchecked Sendable {
    let description: String
    let op: String
    let inputs: [String: Tensor]
    let params: [String: Any]
    let output: Tensor
    let grads: [String: Tensor]

    static func load(_ file: String) -> [FixtureCase] {
        guard let root = try? fixture(file), let cases = root["cases"] as? [[String: Any]] else { return [] }
        return cases.map { c in
            FixtureCase(description: c["name"] as! String, op: c["op"] as! String,
                        inputs: (c["inputs"] as! [String: Any]).mapValues { try! tensor(fromJSON: $0) },
                        params: c["params"] as? [String: Any] ?? [:],
                        output: try! tensor(fromJSON: c["output"]),
                        grads: (c["grads"] as? [String: Any] ?? [:]).mapValues { try! tensor(fromJSON: $0) })
        }
    }
}

@Suite("Values and gradients against NumPy and PyTorch fixtures")
struct FixtureTests {
    @Test func fixturesArePresent() {
        #expect(FixtureCase.load("numpy_ops").count >= 60)
        #expect(FixtureCase.load("torch_grads").count >= 13)
    }

    @Test(arguments: FixtureCase.load("numpy_ops"))
    func valueMatchesNumPy(_ c: FixtureCase) throws {
        let y = try applyFixtureOp(c.op, c.inputs, c.params)
        expectClose(y, c.output, atol: 1e-5, rtol: 1e-4, c.description)
    }

    /// Loss = Σ op(inputs) ⊙ upstream; gradients from backward() against torch.autograd's.
    @Test(arguments: FixtureCase.load("torch_grads"))
    func gradientMatchesPyTorch(_ c: FixtureCase) throws {
        var inputs = c.inputs
        let upstream = inputs.removeValue(forKey: "upstream")!
        for name in c.grads.keys { inputs[name] = inputs[name]!.copy().requiringGrad() }
        let y = try applyFixtureOp(c.op, inputs, c.params)
        expectClose(y, c.output, atol: 1e-5, rtol: 1e-4, "\(c.description) value")
        try (y * upstream).sum().backward()
        for (name, expected) in c.grads {
            expectClose(inputs[name]!.grad!, expected, atol: 1e-4, rtol: 1e-4, "\(c.description) gradient of \(name)")
        }
    }

    /// 10 steps of a tiny regression against torch.optim's own trajectories.
    @Test(arguments: ["torch_adamw", "torch_adam", "torch_sgd_nesterov"])
    func optimizerMatchesPyTorchTrajectory(_ file: String) throws {
        let f = try fixture(file)
        let x = try tensor(fromJSON: f["x"]), y = try tensor(fromJSON: f["y"])
        let w = try tensor(fromJSON: f["w0"]).requiringGrad(), b = try tensor(fromJSON: f["b0"]).requiringGrad()
        let lr = Float(f["lr"] as! Double), decay = Float(f["weight_decay"] as! Double)
        let opt: Optimizer
        switch file {
        case "torch_adamw":
            let betas = f["betas"] as! [Double]
            opt = try AdamW(parameters: [w, b], learningRate: lr, beta1: Float(betas[0]), beta2: Float(betas[1]),
                            epsilon: Float(f["eps"] as! Double), weightDecay: decay)
        case "torch_adam":
            let betas = f["betas"] as! [Double]
            opt = try Adam(parameters: [w, b], learningRate: lr, beta1: Float(betas[0]), beta2: Float(betas[1]),
                           epsilon: Float(f["eps"] as! Double), weightDecay: decay)
        default:
            opt = try SGD(parameters: [w, b], learningRate: lr, momentum: Float(f["momentum"] as! Double),
                          weightDecay: decay, nesterov: f["nesterov"] as! Bool)
        }
        let steps = f["steps"] as! [[String: Any]]
        #expect(steps.count == 10)
        for (i, s) in steps.enumerated() {
            opt.zeroGrad()
            let loss = try (Tensor.matmul(x, w) + b - y).square().mean()
            try loss.backward()
            try opt.step()
            #expect(Swift.abs(try loss.item() - Float(s["loss"] as! Double)) <= 1e-5 * Swift.max(1, Swift.abs(Float(s["loss"] as! Double))), "step \(i) loss")
            expectClose(w.detach(), try tensor(fromJSON: s["w"]), atol: 1e-5, rtol: 1e-5, "\(file) step \(i) w")
            expectClose(b.detach(), try tensor(fromJSON: s["b"]), atol: 1e-5, rtol: 1e-5, "\(file) step \(i) b")
        }
    }
}
