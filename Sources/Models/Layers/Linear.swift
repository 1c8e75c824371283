import Engine

/// y = x Wᵀ + b (`torch.nn.Linear`), with an optional LoRA adapter added to its output.
/// x: [..., inFeatures] → [..., outFeatures]. Keys: `weight` [out, in], `bias` [out].
public final class Linear: Module {
    public let inFeatures: Int, outFeatures: Int
    public let weight: Tensor
    public let bias: Tensor?
    /// The LoRA adapter, when one is attached (key prefix `lora`).
    public private(set) var lora: LoRA?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = 1 / Float(Swift.max(inFeatures, 1)).squareRoot()
        weight = Initialization.uniform([outFeatures, inFeatures], bound: bound)
        self.bias = bias ? Initialization.uniform([outFeatures], bound: bound) : nil
        super.init()
        parameter("weight", weight)
        if let b = self.bias { parameter("bias", b) }
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let y = try Tensor.linear(x, weight: weight, bias: bias)
        guard let lora, lora.isEnabled else { return y }
        return try y + lora(x)
    }

    /// Attaches a fresh LoRA adapter of rank `rank` and scale alpha/rank.
    @discardableResult
    public func attachLoRA(rank: Int, alpha: Float) throws -> LoRA {
        let adapter = try LoRA(inFeatures: inFeatures, outFeatures: outFeatures, rank: rank, alpha: alpha)
        lora = child("lora", adapter)
        return adapter
    }

    /// Folds the adapter into the weight (W ← W + scale·B·A) and removes it.
    public func mergeAdapter() throws {
        guard let lora else { return }
        let delta = try noGrad { try Tensor.matmul(lora.up, lora.down) * lora.scale }
        try weight.assign(try noGrad { try weight + delta })
        removeChild("lora")
        self.lora = nil
    }
}
