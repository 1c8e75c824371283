import Engine

/// diffusers `PixArtAlphaCombinedTimestepSizeEmbeddings` inside `AdaLayerNormSingle`:
/// timestep → 256 sinusoidal features → MLP; plus, for PixArt-α 1024, resolution and aspect-ratio
/// embeddings (dim/3 each) added to it. Keys under `emb`: `timestep_embedder`,
/// `resolution_embedder`, `aspect_ratio_embedder`; the adaLN projection is `linear` (dim → 6·dim).
public final class AdaLayerNormSingle: Module {
    let timeProj = Timesteps(dim: 256, flipSinToCos: true, freqShift: 0)
    let timestepEmbedder: TimestepEmbedding
    let resolutionEmbedder: TimestepEmbedding?, aspectRatioEmbedder: TimestepEmbedding?
    let linear: Linear

    init(dim: Int, additionalConditions: Bool) {
        timestepEmbedder = TimestepEmbedding(inChannels: 256, timeEmbedDim: dim)
        resolutionEmbedder = additionalConditions ? TimestepEmbedding(inChannels: 256, timeEmbedDim: dim / 3) : nil
        aspectRatioEmbedder = additionalConditions ? TimestepEmbedding(inChannels: 256, timeEmbedDim: dim / 3) : nil
        linear = Linear(dim, 6 * dim)
        super.init()
        let emb = Module()
        emb.child("timestep_embedder", timestepEmbedder)
        if let resolutionEmbedder, let aspectRatioEmbedder {
            emb.child("resolution_embedder", resolutionEmbedder)
            emb.child("aspect_ratio_embedder", aspectRatioEmbedder)
        }
        child("emb", emb)
        child("linear", linear)
    }

    /// → (the 6·dim modulation [B, 6·dim], the embedded timestep [B, dim]).
    func callAsFunction(_ timestep: Tensor, resolution: Tensor?, aspectRatio: Tensor?) throws -> (Tensor, Tensor) {
        var embedded = try timestepEmbedder(timeProj(timestep))
        if let resolutionEmbedder, let aspectRatioEmbedder {
            guard let resolution, let aspectRatio else {
                throw ModelError.invalidInput(model: "PixArtTransformer2DModel", reason: "this model needs resolution [B, 2] and aspect ratio [B, 1] conditions")
            }
            let batch = timestep.shape[0]
            let r = try resolutionEmbedder(timeProj(resolution.reshape([-1]))).reshape([batch, -1])
            let a = try aspectRatioEmbedder(timeProj(aspectRatio.reshape([-1]))).reshape([batch, -1])
            embedded = try embedded + Tensor.concat([r, a], axis: 1)
        }
        return (try linear(embedded.silu()), embedded)
    }
}

/// diffusers `PixArtAlphaTextProjection`: linear_1 → GELU(tanh) → linear_2.
public final class CaptionProjection: Module {
    let linear1: Linear, linear2: Linear
    init(inFeatures: Int, hidden: Int) {
        linear1 = Linear(inFeatures, hidden)
        linear2 = Linear(hidden, hidden)
        super.init()
        child("linear_1", linear1)
        child("linear_2", linear2)
    }
    func callAsFunction(_ x: Tensor) throws -> Tensor { try linear2(linear1(x).gelu(approximate: .tanh)) }
}

/// diffusers `BasicTransformerBlock` with norm_type "ada_norm_single" (PixArt): the shared
/// timestep modulation plus this block's `scale_shift_table` [6, dim] give shift/scale/gate for
/// self-attention and the feed-forward; cross-attention takes the un-normalised input (as the
/// original PixArt). Norms have no affine parameters.
public final class PixArtTransformerBlock: Module {
    let dim: Int
    let norm1: LayerNorm, attn1: Attention, norm2: LayerNorm, attn2: Attention, ff: FeedForward
    let scaleShiftTable: Tensor

    init(dim: Int, heads: Int, headDim: Int, contextDim: Int, eps: Float, affine: Bool) {
        self.dim = dim
        norm1 = LayerNorm(dim, eps: eps, affine: affine)
        attn1 = Attention(queryDim: dim, heads: heads, headDim: headDim, bias: true)
        norm2 = LayerNorm(dim, eps: eps, affine: affine)
        attn2 = Attention(queryDim: dim, contextDim: contextDim, heads: heads, headDim: headDim, bias: true)
        ff = FeedForward(dim: dim, activation: .geluTanh)
        scaleShiftTable = try! Initialization.normal([6, dim], std: 1) / Float(dim).squareRoot()
        super.init()
        child("norm1", norm1)
        child("attn1", attn1)
        child("norm2", norm2)
        child("attn2", attn2)
        child("ff", ff)
        parameter("scale_shift_table", scaleShiftTable)
    }

    /// x: [B, N, dim], modulation: [B, 6·dim], context: [B, L, dim].
    func callAsFunction(_ x: Tensor, modulation: Tensor, context: Tensor, call: AttentionCall) throws -> Tensor {
        let batch = x.shape[0]
        let parts = try (scaleShiftTable.unsqueeze(0) + modulation.reshape([batch, 6, dim])).chunk(6, axis: 1)
        let (shiftMSA, scaleMSA, gateMSA, shiftMLP, scaleMLP, gateMLP) = (parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])
        var h = try norm1(x) * (scaleMSA + 1) + shiftMSA
        var y = try gateMSA * attn1(h, call: call) + x
        y = try attn2(y, context: context, call: call) + y
        h = try norm2(y) * (scaleMLP + 1) + shiftMLP
        return try gateMLP * ff(h) + y
    }
}
