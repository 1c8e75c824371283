import Diffusion
import Engine
import Models

/// How a one-step model is told what not to draw.
public enum NegativeMethod: String, CaseIterable, Sendable {
    /// Ignore the negative prompt.
    case none
    /// NASA (eq. 8–10): Z = Z⁺ − α Z⁻ in the selected cross-attention layers.
    case nasa
    /// Classifier-free guidance on the one-step output: x0 = (1 + α) x0(y) − α x0(y⁻), eq. 4 with
    /// κ = 1 + α and the negative prompt in the unconditional branch (the paper's first baseline).
    case cfg
    /// Subtract the negative prompt's text states from the positive one's: context = c(y) − α c(y⁻)
    /// (the paper's second baseline).
    case embedSub = "embed_sub"
}

/// Where NASA goes and how strongly: a list of (layer glob, α), applied in order (a later entry
/// overrides an earlier one on the layers it matches). Cross-attention layers only.
public struct NASALayers: Sendable {
    public var entries: [(pattern: String, alpha: Float)]
    public init(_ entries: [(pattern: String, alpha: Float)]) { self.entries = entries }
    /// Every cross-attention layer with one α.
    public static func all(alpha: Float) -> NASALayers { NASALayers([("**", alpha)]) }
}

extension Module {
    /// Runs `body` with NASA installed per `layers`, then puts every attention layer's previous
    /// processor back.
    public func withNASA<T>(_ layers: NASALayers, _ body: () throws -> T) throws -> T {
        let saved = attentionLayers.map { ($0.layer, $0.layer.processor) }
        defer { for (layer, processor) in saved { layer.processor = processor } }
        for (pattern, alpha) in layers.entries { try enableNASA(alpha: alpha, layers: pattern) }
        return try body()
    }
}

extension OneStepStudent {
    /// One-step images for `prompts` with a negative prompt per image by `method` with strength
    /// `alpha` (NASA: on the layers of `nasaLayers`, default every cross-attention layer).
    /// The same `noise` [B, 3, side, side] (or the same seed) gives comparable images across methods.
    public func generate(prompts: [String], negativePrompts: [String], method: NegativeMethod, alpha: Float,
                         nasaLayers: NASALayers? = nil, noise: Tensor) throws -> Tensor {
        guard !prompts.isEmpty, negativePrompts.count == prompts.count, noise.shape == [prompts.count, 3, side, side] else {
            throw DistillError.invalidArgument(name: "generate", reason: "needs one negative prompt and one noise image [3, \(side), \(side)] per prompt")
        }
        guard alpha.isFinite else { throw DistillError.invalidArgument(name: "alpha", reason: "must be finite, got \(alpha)") }
        let context = try pipeline.context(prompts), negative = try pipeline.context(negativePrompts)
        return try noGrad {
            let images: Tensor
            switch method {
            case .none:
                images = try x0(noise: noise, context: context)
            case .nasa:
                images = try network.withNASA(nasaLayers ?? .all(alpha: alpha)) {
                    try x0(noise: noise, context: context, negativeContext: negative)
                }
            case .cfg:
                let positive = try x0(noise: noise, context: context), away = try x0(noise: noise, context: negative)
                images = try positive * (1 + alpha) - away * alpha
            case .embedSub:
                images = try x0(noise: noise, context: context - negative * alpha)
            }
            return try images.clamp(min: -1, max: 1)
        }
    }

    /// `generate` with noise drawn from `seed`.
    public func generate(prompts: [String], negativePrompts: [String], method: NegativeMethod, alpha: Float,
                         nasaLayers: NASALayers? = nil, seed: UInt64) throws -> Tensor {
        let noise = try Tensor.randn([prompts.count, 3, side, side], generator: RandomGenerator(seed: seed))
        return try generate(prompts: prompts, negativePrompts: negativePrompts, method: method, alpha: alpha, nasaLayers: nasaLayers, noise: noise)
    }
}
