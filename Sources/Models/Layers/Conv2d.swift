import Engine

/// 2-d convolution (`torch.nn.Conv2d`, groups = 1). x: [B, in, H, W] → [B, out, H', W'].
/// Keys: `weight` [out, in, kh, kw], `bias` [out]. 1×1 convolutions can carry a LoRA adapter.
public final class Conv2d: Module {
    public let inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int, padding: Int
    public let weight: Tensor
    public let bias: Tensor?
    public private(set) var lora: LoRA?

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true) {
        (self.inChannels, self.outChannels, self.kernelSize, self.stride, self.padding) = (inChannels, outChannels, kernelSize, stride, padding)
        let bound = 1 / Float(Swift.max(inChannels * kernelSize * kernelSize, 1)).squareRoot()
        weight = Initialization.uniform([outChannels, inChannels, kernelSize, kernelSize], bound: bound)
        self.bias = bias ? Initialization.uniform([outChannels], bound: bound) : nil
        super.init()
        parameter("weight", weight)
        if let b = self.bias { parameter("bias", b) }
    }

    public var isPointwise: Bool { kernelSize == 1 && stride == 1 && padding == 0 }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let y = try Tensor.conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding))
        guard let lora, lora.isEnabled else { return y }
        // A 1×1 convolution is a Linear over the channel axis.
        let channelsLast = try x.permute([0, 2, 3, 1])
        return try y + lora(channelsLast).permute([0, 3, 1, 2])
    }

    @discardableResult
    func attachLoRA(rank: Int, alpha: Float) throws -> LoRA {
        let adapter = try LoRA(inFeatures: inChannels, outFeatures: outChannels, rank: rank, alpha: alpha)
        lora = child("lora", adapter)
        return adapter
    }

    func mergeAdapter() throws {
        guard let lora else { return }
        let delta = try noGrad { try (Tensor.matmul(lora.up, lora.down) * lora.scale).reshape(weight.shape) }
        try weight.assign(try noGrad { try weight + delta })
        removeChild("lora")
        self.lora = nil
    }
}
