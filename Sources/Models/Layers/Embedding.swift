import Engine

/// A lookup table (`torch.nn.Embedding`). indices: any shape of integral values → [..., dim].
/// Key: `weight` [count, dim].
public final class Embedding: Module {
    public let weight: Tensor

    /// Weights drawn from N(0, std²): 1 as `nn.Embedding`; transformers' CLIP uses 0.02.
    public init(_ count: Int, _ dim: Int, std: Float = 1) {
        weight = Initialization.normal([count, dim], std: std)
        super.init()
        parameter("weight", weight)
    }

    public func callAsFunction(_ indices: Tensor) throws -> Tensor { try Tensor.embedding(indices, weight: weight) }
}

/// Dropout with probability `p` in training mode, identity in eval mode (`torch.nn.Dropout`).
public final class Dropout: Module {
    public let p: Float

    public init(_ p: Float = 0) { self.p = p }

    public func callAsFunction(_ x: Tensor, generator: RandomGenerator? = nil) throws -> Tensor {
        try x.dropout(p, training: isTraining, generator: generator)
    }
}
