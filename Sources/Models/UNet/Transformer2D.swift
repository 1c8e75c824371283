import Engine

/// diffusers `BasicTransformerBlock` with norm_type "layer_norm": self-attention (attn1),
/// cross-attention (attn2) and a GEGLU feed-forward, each after a LayerNorm and with a residual.
/// x: [B, L, dim], context: [B, Lc, contextDim].
public final class BasicTransformerBlock: Module {
    let norm1: LayerNorm, attn1: Attention, norm2: LayerNorm, attn2: Attention, norm3: LayerNorm, ff: FeedForward

    public init(dim: Int, heads: Int, headDim: Int, contextDim: Int, attentionBias: Bool = false) {
        norm1 = LayerNorm(dim)
        attn1 = Attention(queryDim: dim, heads: heads, headDim: headDim, bias: attentionBias)
        norm2 = LayerNorm(dim)
        attn2 = Attention(queryDim: dim, contextDim: contextDim, heads: heads, headDim: headDim, bias: attentionBias)
        norm3 = LayerNorm(dim)
        ff = FeedForward(dim: dim, activation: .geglu)
        super.init()
        child("norm1", norm1)
        child("attn1", attn1)
        child("norm2", norm2)
        child("attn2", attn2)
        child("norm3", norm3)
        child("ff", ff)
    }

    public func callAsFunction(_ x: Tensor, context: Tensor, call: AttentionCall) throws -> Tensor {
        var h = try attn1(norm1(x), call: call) + x
        h = try attn2(norm2(h), context: context, call: call) + h
        return try ff(norm3(h)) + h
    }
}

/// diffusers `Transformer2DModel` on continuous inputs: GroupNorm (eps 1e-6), proj_in (1×1 conv or
/// Linear when `linearProjection`), the transformer blocks over the H·W tokens, proj_out, residual.
/// x: [B, C, H, W], context: [B, Lc, contextDim] → [B, C, H, W].
public final class Transformer2DModel: Module {
    let norm: GroupNorm
    let projInConv: Conv2d?, projInLinear: Linear?
    let blocks: ModuleList<BasicTransformerBlock>
    let projOutConv: Conv2d?, projOutLinear: Linear?
    let inner: Int

    public init(channels: Int, heads: Int, headDim: Int, layers: Int, contextDim: Int, groups: Int, linearProjection: Bool) throws {
        let inner = heads * headDim
        self.inner = inner
        norm = try GroupNorm(groups: groups, channels: channels, eps: 1e-6)
        projInConv = linearProjection ? nil : Conv2d(channels, inner, kernelSize: 1)
        projInLinear = linearProjection ? Linear(channels, inner) : nil
        blocks = ModuleList((0..<layers).map { _ in BasicTransformerBlock(dim: inner, heads: heads, headDim: headDim, contextDim: contextDim) })
        projOutConv = linearProjection ? nil : Conv2d(inner, channels, kernelSize: 1)
        projOutLinear = linearProjection ? Linear(inner, channels) : nil
        super.init()
        child("norm", norm)
        child("proj_in", projInConv ?? projInLinear!)
        child("transformer_blocks", blocks)
        child("proj_out", projOutConv ?? projOutLinear!)
    }

    public func callAsFunction(_ x: Tensor, context: Tensor, call: AttentionCall) throws -> Tensor {
        let (b, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        var y = try norm(x)
        // [B, C, H, W] ↔ [B, H·W, C] token layout, projected on whichever side diffusers does.
        if let projInConv { y = try projInConv(y) }
        y = try y.permute([0, 2, 3, 1]).reshape([b, h * w, y.shape[1]])
        if let projInLinear { y = try projInLinear(y) }
        for block in blocks.items { y = try block(y, context: context, call: call) }
        if let projOutLinear { y = try projOutLinear(y) }
        y = try y.reshape([b, h, w, y.shape[2]]).permute([0, 3, 1, 2])
        if let projOutConv { y = try projOutConv(y) }
        return try y + x
    }
}
