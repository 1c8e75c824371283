import Engine
import Foundation
import Testing

/// Values checked by hand.
@Suite("Tensor values")
struct TensorTests {
    @Test func creation() throws {
        #expect(Tensor.zeros([2, 3]).scalars == [0, 0, 0, 0, 0, 0])
        #expect(Tensor.full([2], 2.5).scalars == [2.5, 2.5])
        #expect(try Tensor.arange(0, 5).scalars == [0, 1, 2, 3, 4])
        #expect(try Tensor.arange(1, 2, step: 0.25).scalars == [1, 1.25, 1.5, 1.75])
        #expect(try Tensor.arange(5, 0, step: -2).scalars == [5, 3, 1])
        #expect(try Tensor.linspace(0, 1, count: 5).scalars == [0, 0.25, 0.5, 0.75, 1])
        #expect(Tensor.eye(2).scalars == [1, 0, 0, 1])
        #expect(try Tensor(scalar: 3).item() == 3)
        #expect(try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]).scalar(at: [1, -1]) == 6)
        #expect(Tensor.zeros([0, 3]).count == 0)
    }

    @Test func printingShowsShapeAndAFewValues() throws {
        let t = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        #expect(t.description == "Tensor[2,3] [[1.0000, 2.0000, 3.0000], [4.0000, 5.0000, 6.0000]]")
        let long = try Tensor.arange(0, 100)
        #expect(long.description == "Tensor[100] [0.0000, 1.0000, 2.0000, ..., 97.0000, 98.0000, 99.0000]")
        #expect(Tensor(scalar: 1e-6).description == "Tensor[] 1.0000e-06")
        #expect(Tensor.ones([2]).requiringGrad().description.contains("requiresGrad"))
    }

    @Test func broadcastingArithmetic() throws {
        let a = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let row = try Tensor([10, 20, 30], shape: [3])
        let column = try Tensor([100, 200], shape: [2, 1])
        #expect(try (a + row).scalars == [11, 22, 33, 14, 25, 36])
        #expect(try (a * column).scalars == [100, 200, 300, 800, 1000, 1200])
        #expect(try (row - column).shape == [2, 3])
        #expect(try (row - column).scalars == [-90, -80, -70, -190, -180, -170])
        #expect((2 / Tensor([1, 4])).scalars == [2, 0.5])
        #expect(try Tensor.pow(Tensor([2, 3]), Tensor(scalar: 2)).scalars == [4, 9])
        #expect(try Tensor.maximum(a, Tensor(scalar: 3.5)).scalars == [3.5, 3.5, 3.5, 4, 5, 6])
        #expect(try a.greater(Tensor(scalar: 2)).scalars == [0, 0, 1, 1, 1, 1])
        #expect(try Tensor.where(a.lessEqual(Tensor(scalar: 2)), a, Tensor(scalar: 0)).scalars == [1, 2, 0, 0, 0, 0])
        #expect(try a.clamp(min: 2, max: 4).scalars == [2, 2, 3, 4, 4, 4])
    }

    @Test func unaryFunctions() throws {
        let x = try Tensor([-1, 0, 2], shape: [3])
        #expect(x.relu().scalars == [0, 0, 2])
        #expect(x.abs().scalars == [1, 0, 2])
        #expect(x.square().scalars == [1, 0, 4])
        expectClose(x.sigmoid(), try Tensor([0.26894142, 0.5, 0.88079708], shape: [3]))
        expectClose(x.gelu(), try Tensor([-0.15865525, 0, 1.95449974], shape: [3]))
        expectClose(x.silu(), try Tensor([-0.26894142, 0, 1.76159416], shape: [3]))
        #expect(Tensor([-1000, 1000]).sigmoid().scalars == [0, 1])
        // log(1 + eˣ): log(1 + e⁻¹), log 2, log(1 + e²); no overflow far out, no loss of tiny values.
        expectClose(x.softplus(), try Tensor([0.31326169, 0.69314718, 2.12692801], shape: [3]))
        #expect(Tensor([-1000, 1000]).softplus().scalars == [0, 1000])
        #expect(Tensor([-30]).softplus().scalars[0] > 0)
        #expect(Tensor([.nan, .infinity, 1]).nanToNum(nan: 0, posinf: 5).scalars == [0, 5, 1])
    }

    @Test func reductions() throws {
        let x = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        #expect(try x.sum().item() == 21)
        #expect(try x.sum(axes: [0]).scalars == [5, 7, 9])
        #expect(try x.sum(axes: [1], keepDims: true).shape == [2, 1])
        #expect(try x.mean(axes: [-1]).scalars == [2, 5])
        #expect(try x.variance(axes: [1]).scalars == [1, 1])
        #expect(try x.variance(axes: [1], correction: 0).scalars.map { ($0 * 1e6).rounded() / 1e6 } == [0.666667, 0.666667])
        #expect(try x.max(axes: [0]).scalars == [4, 5, 6])
        #expect(try x.min().item() == 1)
        #expect(try x.argmax(axis: 1).scalars == [2, 2])
        #expect(try Tensor([3, 7, 7, 1]).argmax().item() == 1)
        expectClose(try Tensor([1000, 1000]).logsumexp(), Tensor(scalar: 1000.6931472))
        // Long contiguous sums stay accurate (8-lane accumulation).
        #expect(try Tensor.ones([1_000_001]).sum().item() == 1_000_001)
    }

    @Test func movement() throws {
        let x = try Tensor.arange(0, 24).reshape([2, 3, 4])
        #expect(try x.permute([2, 0, 1]).scalar(at: [3, 1, 2]) == 23)
        #expect(try x.transpose(0, 2).shape == [4, 3, 2])
        #expect(try x.slice([.index(1), .range(start: nil, end: nil, step: 2), .index(-1)]).scalars == [15, 23])
        #expect(try x.slice(axis: 2, start: -2).scalars.prefix(4) == [2, 3, 6, 7])
        #expect(try x.slice(axis: 1, start: 5, end: 9).shape == [2, 0, 4])
        #expect(try x.indexSelect(axis: 0, indices: [1, 1, 0]).shape == [3, 3, 4])
        #expect(try Tensor([1, 2, 3, 4], shape: [2, 2]).gather(axis: 1, index: Tensor([1, 1, 0, 1], shape: [2, 2])).scalars == [2, 2, 3, 4])
        #expect(try Tensor.concat([Tensor([1, 2]), Tensor([3])]).scalars == [1, 2, 3])
        #expect(try Tensor.stack([Tensor([1, 2]), Tensor([3, 4])], axis: 1).scalars == [1, 3, 2, 4])
        #expect(try Tensor.arange(0, 5).chunk(2).map(\.scalars) == [[0, 1, 2], [3, 4]])
        #expect(try Tensor([1, 2], shape: [2, 1]).expand([2, 3]).scalars == [1, 1, 1, 2, 2, 2])
        #expect(try Tensor([1, 2]).pad([(1, 2)], value: 9).scalars == [9, 1, 2, 9, 9])
        #expect(try Tensor([1, 2]).repeat([2, 2]).scalars == [1, 2, 1, 2, 1, 2, 1, 2])
        #expect(try Tensor([1, 2]).repeat([2, 2]).shape == [2, 4])
        // reshape shares storage, as a view does
        #expect(try x.reshape([6, 4]).storage === x.storage)
    }

    @Test func matrixProducts() throws {
        let a = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let b = try Tensor([1, 0, 0, 1, 1, 1], shape: [3, 2])
        #expect(try Tensor.matmul(a, b).scalars == [4, 5, 10, 11])
        #expect(try Tensor.matmul(a, a, transposeB: true).scalars == [14, 32, 32, 77])
        #expect(try Tensor.matmul(a, a, transposeA: true).shape == [3, 3])
        #expect(try Tensor.matmul(a, Tensor([1, 1, 1])).scalars == [6, 15])
        #expect(try Tensor.linear(Tensor([1, 1, 1], shape: [1, 3]), weight: a, bias: Tensor([1, -1])).scalars == [7, 14])
    }

    @Test func neuralNetworkKernels() throws {
        // 3×3 box filter with padding 1 on a 3×3 image of ones: corner sees 4, edge 6, centre 9.
        let y = try Tensor.conv2d(Tensor.ones([1, 1, 3, 3]), weight: Tensor.ones([1, 1, 3, 3]), padding: (1, 1))
        #expect(y.scalars == [4, 6, 4, 6, 9, 6, 4, 6, 4])
        let strided = try Tensor.conv2d(Tensor.ones([1, 1, 4, 4]), weight: Tensor.ones([2, 1, 2, 2]), bias: Tensor([0, 1]), stride: (2, 2))
        #expect(strided.shape == [1, 2, 2, 2] && strided.scalars == [4, 4, 4, 4, 5, 5, 5, 5])
        #expect(try Tensor.arange(0, 16).reshape([1, 1, 4, 4]).avgPool2d(kernel: 2).scalars == [2.5, 4.5, 10.5, 12.5])
        #expect(try Tensor([1, 2, 3, 4], shape: [1, 1, 2, 2]).upsampleNearest().scalars == [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
        let s = try Tensor([0, Float(2).squareRoot().squareRoot(), 1000, 1000]).reshape([2, 2]).softmax()
        #expect(s.scalars[2] == 0.5 && s.scalars[3] == 0.5)
        let ln = try Tensor([1, 3]).reshape([1, 2]).layerNorm(weight: nil, bias: nil, eps: 0)
        #expect(ln.scalars == [-1, 1])
        let gn = try Tensor([1, 3, 10, 30], shape: [1, 2, 2]).groupNorm(groups: 2, weight: Tensor([1, 2]), bias: Tensor([0, 5]), eps: 0)
        #expect(gn.scalars == [-1, 1, 3, 7])
        // Attention over identical keys averages the values; a −inf mask entry removes one.
        let q = Tensor.ones([1, 1, 2]), k = Tensor.ones([1, 3, 2])
        let v = try Tensor([1, 2, 3, 4, 5, 6], shape: [1, 3, 2])
        #expect(try Tensor.scaledDotProductAttention(query: q, key: k, value: v).scalars == [3, 4])
        let mask = try Tensor([0, 0, -.infinity], shape: [1, 3])
        #expect(try Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask).scalars == [2, 3])
        #expect(try Tensor.embedding(Tensor([2, 0]), weight: Tensor([1, 2, 3, 4, 5, 6], shape: [3, 2])).scalars == [5, 6, 1, 2])
    }

    @Test func dropoutKeepsExpectation() throws {
        let x = Tensor.ones([100_000])
        let y = try x.dropout(0.25, generator: RandomGenerator(seed: 1))
        let kept = y.scalars.filter { $0 != 0 }
        #expect(kept.allSatisfy { Swift.abs($0 - 4.0 / 3.0) < 1e-6 })
        #expect(Swift.abs(Float(kept.count) / 100_000 - 0.75) < 0.01)
        #expect(try x.dropout(0.5, training: false) === x)
    }

    @Test func inPlaceAssignAndCopy() throws {
        let a = Tensor.zeros([2])
        let view = try a.reshape([1, 2])
        try a.assign(Tensor([3, 4]))
        #expect(view.scalars == [3, 4])
        let c = a.copy()
        try a.assign(Tensor([0, 0]))
        #expect(c.scalars == [3, 4])
    }
}

@Suite("conv2d split by sample or within a sample", .serialized)
struct ConvSplitTests {
    /// One sample (split within it) and four samples (one thread per sample) give the same
    /// values and gradients for each sample, with one thread or two.
    @Test func samplesAgreeWhicheverWayTheWorkIsSplit() throws {
        let x = sample([4, 3, 6, 6], seed: 1), w = sample([4, 3, 3, 3], seed: 2), b = sample([4], seed: 3)
        func run(_ x: Tensor) throws -> [Tensor] {
            let (xl, wl, bl) = (x.copy().requiringGrad(), w.copy().requiringGrad(), b.copy().requiringGrad())
            let y = try Tensor.conv2d(xl, weight: wl, bias: bl, stride: (1, 2), padding: (1, 0))
            try (y * y).sum().backward()
            return [y, xl.grad!, wl.grad!, bl.grad!]
        }
        let before = Threads.count
        defer { try? Threads.set(before) }
        for threads in [1, 2] {
            try Threads.set(threads)
            let whole = try run(x)
            var weightGrad = Tensor.zeros(w.shape)
            for i in 0..<4 {
                let one = try run(x.slice([.range(i, i + 1)]))
                expectClose(one[0], try whole[0].slice([.range(i, i + 1)]), atol: 1e-5, rtol: 1e-5)
                expectClose(one[1], try whole[1].slice([.range(i, i + 1)]), atol: 1e-5, rtol: 1e-5)
                weightGrad = try weightGrad + one[2]
            }
            expectClose(weightGrad, whole[2], atol: 1e-4, rtol: 1e-5)
        }
    }
}

@Suite("Losses")
struct LossTests {
    @Test func crossEntropyMatchesHandComputation() throws {
        // logits [[0, ln 3]] → p = [1/4, 3/4]; target 1 → −ln(3/4)
        let logits = try Tensor([0, Float(3).logValue, 2, 0], shape: [2, 2])
        let loss = try Tensor.crossEntropy(logits, targets: [1, 0])
        let expected = (-(Float(0.75)).logValue - (2 - Float(Foundation.exp(Double(2)) + 1).logValue)) / 2
        #expect(Swift.abs(try loss.item() - expected) < 1e-6)
        try checkGradients([sample([3, 4], seed: 1)]) { try Tensor.crossEntropy($0[0], targets: [3, 0, 2]) * 1 }
        expectEngineError("crossEntropy", "target 4") { _ = try Tensor.crossEntropy(logits, targets: [4, 0]) }
        expectEngineError("crossEntropy", "one target per row") { _ = try Tensor.crossEntropy(logits, targets: [1]) }
        #expect(try Tensor.mse(Tensor([1, 3]), Tensor([0, 0])).item() == 5)
        expectEngineError("mse") { _ = try Tensor.mse(Tensor([1]), Tensor([1, 2])) }
    }
}

private extension Float { var logValue: Float { Foundation.log(self) } }
