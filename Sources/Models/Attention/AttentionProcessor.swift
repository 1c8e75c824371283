import Engine

/// What travels with one forward call down to every cross-attention layer: the negative-prompt
/// context that NASA's processors read (eq. 8–10), if any, and additive biases on the
/// cross-attention scores for padded text tokens (PixArt's `encoder_attention_mask`).
/// Self-attention layers get an empty call.
public struct AttentionCall {
    /// Negative-prompt text features [B, L⁻, D], or nil.
    public var negativeContext: Tensor?
    /// Added to q kᵀ/√d of the context's keys: broadcastable to [B, heads, Lq, L] (nil: none).
    public var contextBias: Tensor?
    /// The same for the negative context's keys, [B, 1, 1, L⁻] (nil: none).
    public var negativeContextBias: Tensor?

    public init(negativeContext: Tensor? = nil, contextBias: Tensor? = nil, negativeContextBias: Tensor? = nil) {
        (self.negativeContext, self.contextBias, self.negativeContextBias) = (negativeContext, contextBias, negativeContextBias)
    }

    /// The value diffusers puts on masked keys (not −∞: a row with every key masked stays finite).
    public static let maskedKeyBias: Float = -10000

    /// diffusers' conversion of an attention mask to a bias (`Transformer2DModel.forward`,
    /// `PixArtTransformer2DModel.forward`): mask [B, L] (1 = attend, 0 = masked) →
    /// (1 − mask) · (−10000) as [B, 1, 1, L], added to the scores of every head and query.
    public static func keyBias(mask: Tensor) throws -> Tensor {
        guard mask.rank == 2 else {
            throw ModelError.invalidInput(model: "Attention", reason: "an attention mask must be [B, L], got \(shapeText(mask.shape))")
        }
        return try ((1 - mask.detach()) * maskedKeyBias).reshape([mask.shape[0], 1, 1, mask.shape[1]])
    }
}

/// The attention core of one layer, replaceable per layer (as diffusers' attention processors).
/// It receives the layer (for its projections), the heads-split query and the keys and values of
/// the layer's context, and returns Z before the heads are merged and projected out.
/// q: [B, heads, Lq, d], k, v: [B, heads, Lk, d] → [B, heads, Lq, d].
public protocol AttentionProcessor {
    /// A short name for summaries ("standard", "nasa(α=0.5)").
    var name: String { get }
    func attend(_ layer: Attention, query: Tensor, key: Tensor, value: Tensor, call: AttentionCall) throws -> Tensor
}

/// softmax(q kᵀ/√d + bias) v (the call's context bias, if any).
public struct StandardAttention: AttentionProcessor {
    public init() {}
    public var name: String { "standard" }
    public func attend(_ layer: Attention, query: Tensor, key: Tensor, value: Tensor, call: AttentionCall) throws -> Tensor {
        try Tensor.scaledDotProductAttention(query: query, key: key, value: value, mask: call.contextBias)
    }
}

/// Negative-Away Steer Attention (the paper's eq. 8–10, Algorithm 1), for cross-attention layers:
/// Z⁺ = softmax(Q K⁺ᵀ/√d) V⁺ from the prompt, Z⁻ = softmax(Q K⁻ᵀ/√d) V⁻ from the negative prompt
/// through the same W_k, W_v, and Z = Z⁺ − α Z⁻. Without a negative context in the call it is the
/// standard processor; α = 0 gives exactly the standard output. Each side takes its own padding
/// bias from the call (`contextBias`, `negativeContextBias`).
public struct NASAAttention: AttentionProcessor {
    public let alpha: Float
    public init(alpha: Float) { self.alpha = alpha }
    public var name: String { "nasa(α=\(alpha))" }

    public func attend(_ layer: Attention, query: Tensor, key: Tensor, value: Tensor, call: AttentionCall) throws -> Tensor {
        let positive = try Tensor.scaledDotProductAttention(query: query, key: key, value: value, mask: call.contextBias)
        guard let negative = call.negativeContext, alpha != 0 else { return positive }
        let (negativeKey, negativeValue) = try layer.keysAndValues(of: negative)
        let away = try Tensor.scaledDotProductAttention(query: query, key: negativeKey, value: negativeValue, mask: call.negativeContextBias)
        return try positive - away * alpha
    }
}
