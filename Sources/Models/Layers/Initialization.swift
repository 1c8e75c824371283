import Engine

/// Where freshly built layers draw their initial weights: a seeded generator, so that building a
/// model from a config is reproducible (`withSeed`). Layers use PyTorch's default schemes.
public enum Initialization {
    nonisolated(unsafe) static var generator = RandomGenerator(seed: 0)

    /// Builds something (a model) with weights drawn from a generator seeded with `seed`.
    public static func withSeed<R>(_ seed: UInt64, _ body: () throws -> R) rethrows -> R {
        let saved = generator
        generator = RandomGenerator(seed: seed)
        defer { generator = saved }
        return try body()
    }

    /// U(−bound, bound), PyTorch's `kaiming_uniform_(a=√5)` for weights and its bias rule,
    /// both of which come to bound = 1/√fanIn.
    static func uniform(_ shape: [Int], bound: Float) -> Tensor {
        try! Tensor.rand(shape, low: -bound, high: bound, generator: generator)
    }

    static func normal(_ shape: [Int], std: Float) -> Tensor {
        try! Tensor.randn(shape, std: std, generator: generator)
    }
}
