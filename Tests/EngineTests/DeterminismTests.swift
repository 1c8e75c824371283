import Engine
import Testing

/// The same seed gives identical bytes whether the engine and OpenBLAS run on 1 thread or 2.
@Suite("Determinism across thread counts", .serialized)
struct DeterminismTests {
    /// A little of everything that splits work over threads: RNG, elementwise, reductions,
    /// sgemm, conv2d (im2col), norms, attention, and their backward passes.
    func workload() throws -> [Float] {
        let x = try Tensor.randn([4, 8, 40, 40], seed: 5).requiringGrad()
        let w = try Tensor.randn([8, 8, 3, 3], seed: 6).requiringGrad()
        let y = try Tensor.conv2d(x, weight: w, padding: (1, 1)).groupNorm(groups: 4, weight: nil, bias: nil).silu()
        let q = try y.reshape([4, 8, 1600]).transpose()
        let a = try Tensor.scaledDotProductAttention(query: q, key: q, value: q)
        let loss = try (a.square().sum(axes: [1]) + y.mean()).sum()
        try loss.backward()
        let big = try Tensor.rand([300_000], seed: 8)
        return [try loss.item(), try big.sum().item(), try big.exp().mean().item()] + x.grad!.scalars + w.grad!.scalars
    }

    @Test func identicalBytesWithOneAndTwoThreads() throws {
        let before = Threads.count
        defer { try? Threads.set(before) }
        try Threads.set(1)
        let one = try workload()
        try Threads.set(2)
        let two = try workload()
        #expect(one.count == two.count)
        let identical = one.map(\.bitPattern) == two.map(\.bitPattern)
        #expect(identical)
    }
}
