import Engine

/// Group normalisation (`torch.nn.GroupNorm`). x: [B, C, ...]. Keys: `weight`, `bias` [C].
public final class GroupNorm: Module {
    public let groups: Int, channels: Int, eps: Float
    public let weight: Tensor, bias: Tensor

    public init(groups: Int, channels: Int, eps: Float = 1e-5) throws {
        guard groups >= 1, channels % groups == 0 else {
            throw ModelError.badConfig(architecture: "GroupNorm", reason: "\(channels) channels do not split into \(groups) groups")
        }
        (self.groups, self.channels, self.eps) = (groups, channels, eps)
        weight = Tensor.ones([channels])
        bias = Tensor.zeros([channels])
        super.init()
        parameter("weight", weight)
        parameter("bias", bias)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.groupNorm(groups: groups, weight: weight, bias: bias, eps: eps)
    }
}

/// Layer normalisation over the last axis (`torch.nn.LayerNorm(dim)`). Keys: `weight`, `bias` [dim]
/// (none when `affine` is false, as `elementwise_affine=False`).
public final class LayerNorm: Module {
    public let dim: Int, eps: Float
    public let weight: Tensor?, bias: Tensor?

    public init(_ dim: Int, eps: Float = 1e-5, affine: Bool = true) {
        (self.dim, self.eps) = (dim, eps)
        weight = affine ? Tensor.ones([dim]) : nil
        bias = affine ? Tensor.zeros([dim]) : nil
        super.init()
        if let weight { parameter("weight", weight) }
        if let bias { parameter("bias", bias) }
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.layerNorm(weight: weight, bias: bias, eps: eps)
    }
}

/// Root-mean-square normalisation over the last axis (Zhang & Sennrich 2019; transformers
/// `T5LayerNorm`): y = weight · x / √(mean(x²) + eps) — no mean subtracted, no bias.
/// x: [..., dim]. Key: `weight` [dim].
public final class RMSNorm: Module {
    public let dim: Int, eps: Float
    public let weight: Tensor

    public init(_ dim: Int, eps: Float = 1e-6) {
        (self.dim, self.eps) = (dim, eps)
        weight = Tensor.ones([dim])
        super.init()
        parameter("weight", weight)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let meanSquare = try x.square().mean(axis: -1, keepDims: true)
        return try weight * (x * (meanSquare + eps).rsqrt())
    }
}
