import Engine
import Testing

/// One differentiable op under the finite-difference check.
struct GradientCase: CustomStringConvertible, @unchecked Sendable {
    enum Inputs { case normal, positive, separated }
    let description: String
    let shapes: [[Int]]
    var inputs: Inputs = .normal
    let f: ([Tensor]) throws -> Tensor

    init(_ name: String, _ shapes: [[Int]], _ inputs: Inputs = .normal, _ f: @escaping ([Tensor]) throws -> Tensor) {
        (description, self.shapes, self.inputs, self.f) = (name, shapes, inputs, f)
    }

    func makeInputs() -> [Tensor] {
        shapes.enumerated().map { k, shape in
            let x = sample(shape, seed: UInt64(11 + k))
            switch inputs {
            case .normal: return x
            // Away from 0 (log, sqrt, division, the kinks of abs/relu).
            case .positive: return (x.abs() + 0.3)
            // Distinct values 0.1 apart, none at 0 (ties and kinks would break finite differences).
            case .separated:
                let order = RandomGenerator(seed: UInt64(5 + k)).permutation(x.count)
                return try! Tensor(order.map { Float($0) * 0.1 - 0.95 }, shape: shape)
            }
        }
    }
}

let gradientCases: [GradientCase] = [
    // Elementwise with broadcasting
    .init("add broadcast", [[2, 3, 4], [3, 1]]) { try $0[0] + $0[1] },
    .init("sub broadcast", [[4, 1, 5], [3, 5]]) { try $0[0] - $0[1] },
    .init("mul broadcast", [[2, 3, 4], [4]]) { try $0[0] * $0[1] },
    .init("div broadcast", [[2, 3], [2, 1]], .positive) { try $0[0] / $0[1] },
    .init("pow tensor", [[2, 3], [3]], .positive) { try Tensor.pow($0[0], $0[1]) },
    .init("maximum", [[3, 4], [4]], .separated) { try Tensor.maximum($0[0], $0[1]) },
    .init("minimum", [[3, 4], [3, 1]], .separated) { try Tensor.minimum($0[0], $0[1]) },
    .init("where", [[2, 3], [3]]) { x in
        try Tensor.where(try Tensor([1, 0, 1, 0, 0, 1], shape: [2, 3]), x[0], x[1])
    },
    .init("clamp", [[4, 5]], .separated) { try $0[0].clamp(min: -0.6, max: 0.4) },
    .init("scalar arithmetic", [[3, 4]], .positive) { x in try (2 - x[0] * 3 + 1.5) / 2 + 0.5 / x[0] - x[0].pow(1.5) },
    // Unary
    .init("exp", [[3, 4]]) { $0[0].exp() },
    .init("log", [[3, 4]], .positive) { $0[0].log() },
    .init("sqrt", [[3, 4]], .positive) { $0[0].sqrt() },
    .init("rsqrt", [[3, 4]], .positive) { $0[0].rsqrt() },
    .init("abs", [[3, 4]], .separated) { $0[0].abs() },
    .init("neg", [[3, 4]]) { $0[0].neg() },
    .init("sin", [[3, 4]]) { $0[0].sin() },
    .init("cos", [[3, 4]]) { $0[0].cos() },
    .init("tanh", [[3, 4]]) { $0[0].tanh() },
    .init("sigmoid", [[3, 4]]) { $0[0].sigmoid() },
    .init("softplus", [[3, 4]]) { $0[0].softplus() },
    .init("relu", [[3, 4]], .separated) { $0[0].relu() },
    .init("silu", [[3, 4]]) { $0[0].silu() },
    .init("gelu erf", [[3, 4]]) { $0[0].gelu() },
    .init("gelu tanh", [[3, 4]]) { $0[0].gelu(approximate: .tanh) },
    .init("quick gelu", [[3, 4]]) { $0[0].quickGelu() },
    .init("square", [[3, 4]]) { $0[0].square() },
    // Reductions over several axes
    .init("sum axes 0,2", [[2, 3, 4]]) { try $0[0].sum(axes: [0, 2]) },
    .init("sum all", [[2, 3]]) { try $0[0].sum() },
    .init("mean keepdims", [[2, 3, 4]]) { try $0[0].mean(axes: [1, 2], keepDims: true) },
    .init("variance", [[3, 4, 2]]) { try $0[0].variance(axes: [0, 2]) },
    .init("max axes", [[3, 4, 2]], .separated) { try $0[0].max(axes: [0, 2]) },
    .init("min axis keepdims", [[3, 4]], .separated) { try $0[0].min(axes: [1], keepDims: true) },
    .init("logsumexp", [[3, 5]]) { try $0[0].logsumexp(axes: [1]) },
    // Movement
    .init("reshape", [[2, 6]]) { try $0[0].reshape([3, -1]) * 2 },
    .init("permute", [[2, 3, 4]]) { try $0[0].permute([2, 0, 1]) },
    .init("transpose", [[3, 5]]) { try $0[0].transpose() },
    .init("slice steps negative", [[3, 5, 4]]) { try $0[0].slice([.range(start: 1, end: nil, step: 1), .range(start: nil, end: nil, step: 2), .index(-1)]) },
    .init("index select repeats", [[3, 4]]) { try $0[0].indexSelect(axis: 1, indices: [2, 0, 2, -1]) },
    .init("gather", [[3, 4]]) { try $0[0].gather(axis: 1, index: try Tensor([0, 3, 1, 1, 2, 0], shape: [3, 2])) },
    .init("concat", [[2, 3], [2, 2]]) { try Tensor.concat([$0[0], $0[1], $0[0]], axis: 1) },
    .init("stack", [[2, 3], [2, 3]]) { try Tensor.stack([$0[0], $0[1]], axis: 1) },
    .init("split", [[5, 2]]) { x in let p = try x[0].split(sizes: [2, 3]); return try p[1].slice(axis: 0, start: 0, end: 2) * p[0] },
    .init("chunk", [[4, 3]]) { x in let p = try x[0].chunk(2, axis: 0); return try p[0] - p[1] * 2 },
    .init("expand", [[3, 1]]) { try $0[0].expand([2, 3, 4]) },
    .init("pad", [[2, 3]]) { try $0[0].pad([(1, 0), (2, 1)], value: 0.7) },
    .init("repeat", [[2, 3]]) { try $0[0].repeat([2, 1, 2]) },
    .init("squeeze unsqueeze flatten", [[2, 1, 3]]) { try $0[0].squeeze(1).unsqueeze(0).flatten() },
    // Linear algebra
    .init("matmul 2d", [[3, 4], [4, 5]]) { try Tensor.matmul($0[0], $0[1]) },
    .init("matmul batched broadcast", [[2, 1, 3, 4], [3, 4, 2]]) { try Tensor.matmul($0[0], $0[1]) },
    .init("matmul folded batch", [[2, 3, 4], [4, 2]]) { try Tensor.matmul($0[0], $0[1]) },
    .init("matmul transposeA", [[2, 4, 3], [2, 4, 5]]) { try Tensor.matmul($0[0], $0[1], transposeA: true) },
    .init("matmul transposeB", [[3, 4], [5, 4]]) { try Tensor.matmul($0[0], $0[1], transposeB: true) },
    .init("matmul both transposed", [[4, 3], [5, 4]]) { try Tensor.matmul($0[0], $0[1], transposeA: true, transposeB: true) },
    .init("matvec", [[3, 4], [4]]) { try Tensor.matmul($0[0], $0[1]) },
    .init("vecmat", [[4], [4, 3]]) { try Tensor.matmul($0[0], $0[1]) },
    .init("linear", [[2, 3, 4], [5, 4], [5]]) { try Tensor.linear($0[0], weight: $0[1], bias: $0[2]) },
    // Neural-network kernels
    .init("conv2d strided padded", [[2, 3, 7, 6], [4, 3, 3, 3], [4]]) { try Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 1), padding: (1, 2)) },
    .init("conv2d 3x3 same", [[1, 2, 5, 5], [3, 2, 3, 3]]) { try Tensor.conv2d($0[0], weight: $0[1], padding: (1, 1)) },
    .init("conv2d pointwise", [[2, 3, 4, 4], [5, 3, 1, 1], [5]]) { try Tensor.conv2d($0[0], weight: $0[1], bias: $0[2]) },
    .init("avg pool", [[2, 2, 6, 6]]) { try $0[0].avgPool2d(kernel: 2) },
    .init("avg pool overlapping", [[1, 2, 5, 5]]) { try $0[0].avgPool2d(kernel: 3, stride: 1) },
    .init("upsample nearest", [[1, 2, 3, 3]]) { try $0[0].upsampleNearest(scale: 2) },
    .init("resize bicubic", [[1, 2, 4, 5]]) { try $0[0].resizeBicubic(height: 7, width: 3) },
    .init("group norm", [[2, 6, 3, 3], [6], [6]]) { try $0[0].groupNorm(groups: 3, weight: $0[1], bias: $0[2]) },
    .init("layer norm", [[2, 3, 6], [6], [6]]) { try $0[0].layerNorm(weight: $0[1], bias: $0[2]) },
    .init("softmax last", [[3, 5]]) { try $0[0].softmax(axis: -1) },
    .init("softmax axis 0", [[3, 5]]) { try $0[0].softmax(axis: 0) },
    .init("log softmax", [[3, 5]]) { try $0[0].logSoftmax(axis: 1) },
    .init("attention with mask", [[2, 4, 8], [2, 6, 8], [2, 6, 3], [4, 6]]) {
        try Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: $0[3])
    },
    .init("attention mask shared across heads", [[2, 3, 2, 4], [2, 3, 5, 4], [2, 3, 5, 4], [2, 1, 2, 5]]) {
        try Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: $0[3])
    },
    .init("attention 4d", [[2, 2, 3, 4], [2, 2, 5, 4], [2, 2, 5, 4]]) {
        try Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], scale: 0.3)
    },
    .init("embedding", [[6, 4]]) { try Tensor.embedding(try Tensor([1, 5, 1, 0, 2, 1], shape: [2, 3]), weight: $0[0]) },
    .init("dropout", [[4, 5]]) { try $0[0].dropout(0.3, generator: RandomGenerator(seed: 3)) },
    .init("nan to num", [[3, 4]]) { $0[0].nanToNum() },
]

@Suite("Finite-difference gradient checks")
struct GradientTests {
    @Test(arguments: gradientCases)
    func gradientMatchesFiniteDifferences(_ c: GradientCase) throws {
        try checkGradients(c.makeInputs(), c.description) { try c.f($0) }
    }

    @Test func tensorUsedTwiceAccumulatesBothGradients() throws {
        let x = try Tensor([1, 2, 3], shape: [3]).requiringGrad()
        // y = x·x + 3x → dy/dx = 2x + 3
        try (x * x + x * 3).sum().backward()
        #expect(x.grad!.scalars == [5, 7, 9])
        // A second backward adds into .grad
        try (x * 2).sum().backward()
        #expect(x.grad!.scalars == [7, 9, 11])
        x.zeroGrad()
        #expect(x.grad == nil)
    }

    @Test func noGradRecordsNothingAndDetachCutsTheTape() throws {
        let x = sample([2, 2], seed: 1).requiringGrad()
        let y = try noGrad { try x * x }
        #expect(!y.tracksGrad)
        let z = try x.detach() * x
        try z.sum().backward()
        expectClose(x.grad!, x.detach(), atol: 0, rtol: 0, "only the non-detached factor contributes")
    }

    @Test func tapeIsReleasedAfterBackward() throws {
        let x = sample([3], seed: 2).requiringGrad()
        let loss = try (x.exp() * 2).sum()
        try loss.backward()
        expectEngineError("already released") { try loss.backward() }
    }

    @Test func backwardNeedsAScalarOrAGradient() throws {
        let x = sample([3], seed: 2).requiringGrad()
        let y = x * 2
        expectEngineError("one-element") { try y.backward() }
        expectEngineError("backward", "[3]", "[2]") { try y.backward(Tensor.ones([2])) }
        try y.backward(Tensor.ones([3]))
        #expect(x.grad!.scalars == [2, 2, 2])
        expectEngineError("does not require grad") { try Tensor.ones([1]).backward() }
    }
}

@Suite("Fused attention against the composite formula")
struct AttentionReferenceTests {
    /// softmax(q kᵀ·s + mask) v written with matmul and softmax (each checked on its own), with
    /// long keys so the fused kernel works in several row blocks and accumulates dK, dV.
    @Test(arguments: [(20, 2100, 8), (33, 700, 40), (5, 3, 2)])
    func fusedMatchesComposite(_ sizes: (Int, Int, Int)) throws {
        let (lq, lk, d) = sizes
        let q = sample([2, lq, d], seed: 1), k = sample([2, lk, d], seed: 2), v = sample([2, lk, 3], seed: 3)
        let mask = try sample([lq, lk], seed: 4) * 0.5, up = sample([2, lq, 3], seed: 5)
        func run(_ fused: Bool) throws -> [Tensor] {
            let (ql, kl, vl, ml) = (q.copy().requiringGrad(), k.copy().requiringGrad(), v.copy().requiringGrad(), mask.copy().requiringGrad())
            let y = fused
                ? try Tensor.scaledDotProductAttention(query: ql, key: kl, value: vl, mask: ml, scale: 0.3)
                : try Tensor.matmul((Tensor.matmul(ql, kl, transposeB: true) * 0.3 + ml).softmax(axis: -1), vl)
            try (y * up).sum().backward()
            return [y, ql.grad!, kl.grad!, vl.grad!, ml.grad!]
        }
        for (a, b) in zip(try run(true), try run(false)) { expectClose(a, b, atol: 2e-5, rtol: 1e-4) }
    }
}
