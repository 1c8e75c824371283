import Engine
import Foundation

/// transformers `T5Attention` as the encoder uses it: q, k, v, o (no biases), scores q kᵀ
/// *without* the 1/√d scaling (T5 folds it into the initialisation) plus an additive
/// `positionBias` that carries the relative position bias and the padding mask.
/// Only the first block owns `relative_attention_bias` [buckets, heads]; the model computes the
/// bias from it once and every block adds the same one.
/// x: [B, L, dModel], positionBias: broadcastable to [B, heads, L, L] → [B, L, dModel].
final class T5Attention: Module {
    let heads: Int, headDim: Int
    let q: Linear, k: Linear, v: Linear, o: Linear
    let relativeAttentionBias: Embedding?

    init(dModel: Int, heads: Int, headDim: Int, relativeBuckets: Int?) {
        (self.heads, self.headDim) = (heads, headDim)
        let inner = heads * headDim
        q = Linear(dModel, inner, bias: false)
        k = Linear(dModel, inner, bias: false)
        v = Linear(dModel, inner, bias: false)
        o = Linear(inner, dModel, bias: false)
        relativeAttentionBias = relativeBuckets.map { Embedding($0, heads, std: 1 / Float(dModel).squareRoot()) }
        super.init()
        child("q", q)
        child("k", k)
        child("v", v)
        child("o", o)
        if let relativeAttentionBias { child("relative_attention_bias", relativeAttentionBias) }
    }

    func callAsFunction(_ x: Tensor, positionBias: Tensor) throws -> Tensor {
        let (b, l) = (x.shape[0], x.shape[1])
        func split(_ t: Tensor) throws -> Tensor { try t.reshape([b, l, heads, headDim]).permute([0, 2, 1, 3]) }
        let z = try Tensor.scaledDotProductAttention(query: split(q(x)), key: split(k(x)), value: split(v(x)),
                                                     mask: positionBias, scale: 1)
        return try o(z.permute([0, 2, 1, 3]).reshape([b, l, heads * headDim]))
    }
}

/// transformers `T5DenseActDense` ("relu": `wi` → ReLU → `wo`) and `T5DenseGatedActDense`
/// ("gated-gelu": GELU_tanh(`wi_0` x) ⊙ `wi_1` x → `wo`, transformers' `gelu_new`).
/// No biases. x: [..., dModel] → [..., dModel].
final class T5DenseReluDense: Module {
    /// `wi` (relu) or `wi_0` (gated-gelu).
    let wi: Linear
    /// `wi_1`, the linear half of the gated form.
    let wiLinear: Linear?
    let wo: Linear

    init(dModel: Int, dFF: Int, gated: Bool) {
        wi = Linear(dModel, dFF, bias: false)
        wiLinear = gated ? Linear(dModel, dFF, bias: false) : nil
        wo = Linear(dFF, dModel, bias: false)
        super.init()
        if let wiLinear {
            child("wi_0", wi)
            child("wi_1", wiLinear)
        } else {
            child("wi", wi)
        }
        child("wo", wo)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard let wiLinear else { return try wo(wi(x).relu()) }
        return try wo(wi(x).gelu(approximate: .tanh) * wiLinear(x))
    }
}

/// transformers `T5Block` of the encoder: `layer.0` (T5LayerSelfAttention: pre-norm
/// `layer_norm`, `SelfAttention`, residual) and `layer.1` (T5LayerFF: pre-norm `layer_norm`,
/// `DenseReluDense`, residual). The norms are T5's RMS norm. x: [B, L, dModel] → [B, L, dModel].
final class T5Block: Module {
    let attentionNorm: RMSNorm, selfAttention: T5Attention
    let feedForwardNorm: RMSNorm, feedForward: T5DenseReluDense

    init(dModel: Int, heads: Int, headDim: Int, dFF: Int, gated: Bool, eps: Float, relativeBuckets: Int?) {
        selfAttention = T5Attention(dModel: dModel, heads: heads, headDim: headDim, relativeBuckets: relativeBuckets)
        attentionNorm = RMSNorm(dModel, eps: eps)
        feedForward = T5DenseReluDense(dModel: dModel, dFF: dFF, gated: gated)
        feedForwardNorm = RMSNorm(dModel, eps: eps)
        super.init()
        let attentionLayer = Module(), feedForwardLayer = Module()
        attentionLayer.child("SelfAttention", selfAttention)
        attentionLayer.child("layer_norm", attentionNorm)
        feedForwardLayer.child("DenseReluDense", feedForward)
        feedForwardLayer.child("layer_norm", feedForwardNorm)
        child("layer", ModuleList<Module>([attentionLayer, feedForwardLayer]))
    }

    func callAsFunction(_ x: Tensor, positionBias: Tensor) throws -> Tensor {
        let h = try x + selfAttention(attentionNorm(x), positionBias: positionBias)
        return try h + feedForward(feedForwardNorm(h))
    }
}

extension T5EncoderModel {
    /// The bucket of a relative position (key position − query position) for bidirectional
    /// attention, exactly as transformers' `T5Attention._relative_position_bucket`: half the
    /// buckets for keys after the query; in each half, distances below a quarter of the buckets
    /// get one bucket each, larger ones logarithmically wider buckets up to `maxDistance`, and
    /// everything beyond the last bucket. The logarithmic part is computed in Float32 in
    /// PyTorch's order (log(n / maxExact) / log(maxDistance / maxExact) · (half − maxExact),
    /// truncated), so distances that land exactly on a bucket edge fall where PyTorch puts them.
    public static func relativePositionBucket(_ relativePosition: Int, buckets: Int, maxDistance: Int) -> Int {
        let half = buckets / 2, maxExact = half / 2
        let offset = relativePosition > 0 ? half : 0
        let distance = Swift.abs(relativePosition)
        if distance < maxExact { return offset + distance }
        let logRatio = Foundation.log(Float(distance) / Float(maxExact))
        let scale = Float(Foundation.log(Double(maxDistance) / Double(maxExact)))
        let large = maxExact + Int(logRatio / scale * Float(half - maxExact))
        return offset + Swift.min(large, half - 1)
    }
}
