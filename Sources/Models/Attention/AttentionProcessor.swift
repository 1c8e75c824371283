import Engine

/// What travels with one forward call down to every attention layer: the negative-prompt
/// context that NASA's processors read (eq. 8–10), if any.
public struct AttentionCall {
    /// Negative-prompt text features [B, L⁻, D], or nil.
    public var negativeContext: Tensor?
    public init(negativeContext: Tensor? = nil) { self.negativeContext = negativeContext }
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

/// softmax(q kᵀ/√d) v.
public struct StandardAttention: AttentionProcessor {
    public init() {}
    public var name: String { "standard" }
    public func attend(_ layer: Attention, query: Tensor, key: Tensor, value: Tensor, call: AttentionCall) throws -> Tensor {
        try Tensor.scaledDotProductAttention(query: query, key: key, value: value)
    }
}

/// Negative-Away Steer Attention (the paper's eq. 8–10, Algorithm 1), for cross-attention layers:
/// Z⁺ = softmax(Q K⁺ᵀ/√d) V⁺ from the prompt, Z⁻ = softmax(Q K⁻ᵀ/√d) V⁻ from the negative prompt
/// through the same W_k, W_v, and Z = Z⁺ − α Z⁻. Without a negative context in the call it is the
/// standard processor; α = 0 gives exactly the standard output.
public struct NASAAttention: AttentionProcessor {
    public let alpha: Float
    public init(alpha: Float) { self.alpha = alpha }
    public var name: String { "nasa(α=\(alpha))" }

    public func attend(_ layer: Attention, query: Tensor, key: Tensor, value: Tensor, call: AttentionCall) throws -> Tensor {
        let positive = try Tensor.scaledDotProductAttention(query: query, key: key, value: value)
        guard let negative = call.negativeContext, alpha != 0 else { return positive }
        let (negativeKey, negativeValue) = try layer.keysAndValues(of: negative)
        let away = try Tensor.scaledDotProductAttention(query: query, key: negativeKey, value: negativeValue)
        return try positive - away * alpha
    }
}
