import Engine

import Checkpoints

/// diffusers `Attention` (self- or cross-attention): to_q, to_k, to_v, heads split, the layer's
/// processor, heads merged, to_out.0 (Linear) and to_out.1 (Dropout).
/// x: [B, L, queryDim], context: [B, Lc, contextDim] (x itself for self-attention) → [B, L, queryDim].
///
/// As diffusers' layer it also takes a feature map x: [B, queryDim, H, W] (its H·W positions are
/// the tokens, and the output has x's shape), and can carry a `group_norm` applied to x first and a
/// residual connection (output + x): the VAE mid block's attention (diffusers `UNetMidBlock2D`),
/// built with `groupNorm:` and `residualConnection: true`.
public final class Attention: Module {
    public let heads: Int, headDim: Int
    public let isCrossAttention: Bool
    public let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear
    let outDropout: Dropout
    let groupNorm: GroupNorm?
    let residualConnection: Bool
    /// The attention core; `StandardAttention` unless replaced (NASA, baselines).
    public var processor: AttentionProcessor = StandardAttention()

    public init(queryDim: Int, contextDim: Int? = nil, heads: Int, headDim: Int, bias: Bool = false, outBias: Bool = true,
                groupNorm: GroupNorm? = nil, residualConnection: Bool = false) {
        (self.heads, self.headDim) = (heads, headDim)
        isCrossAttention = contextDim != nil
        let inner = heads * headDim
        self.groupNorm = groupNorm
        self.residualConnection = residualConnection
        toQ = Linear(queryDim, inner, bias: bias)
        toK = Linear(contextDim ?? queryDim, inner, bias: bias)
        toV = Linear(contextDim ?? queryDim, inner, bias: bias)
        toOut = Linear(inner, queryDim, bias: outBias)
        outDropout = Dropout()
        super.init()
        if let groupNorm { child("group_norm", groupNorm) }
        child("to_q", toQ)
        child("to_k", toK)
        child("to_v", toV)
        child("to_out", ModuleList<Module>([toOut, outDropout]))
    }

    public override var typeName: String { "Attention(\(isCrossAttention ? "cross" : "self"), \(processor.name))" }

    /// [B, L, heads·d] → [B, heads, L, d]
    func splitHeads(_ x: Tensor) throws -> Tensor {
        try x.reshape([x.shape[0], x.shape[1], heads, headDim]).permute([0, 2, 1, 3])
    }

    /// The heads-split keys and values of a context through this layer's W_k, W_v.
    public func keysAndValues(of context: Tensor) throws -> (Tensor, Tensor) {
        guard context.rank == 3, context.shape[2] == toK.inFeatures else {
            throw ModelError.invalidInput(model: "Attention", reason: "context must be [B, L, \(toK.inFeatures)], got \(shapeText(context.shape))")
        }
        return (try splitHeads(toK(context)), try splitHeads(toV(context)))
    }

    public func callAsFunction(_ input: Tensor, context: Tensor? = nil, call: AttentionCall = AttentionCall()) throws -> Tensor {
        let channels = toQ.inFeatures
        let spatial = input.rank == 4 && input.shape[1] == channels
        guard spatial || (input.rank == 3 && input.shape[2] == channels) else {
            throw ModelError.invalidInput(model: "Attention", reason: "input must be [B, L, \(channels)] or [B, \(channels), H, W], got \(shapeText(input.shape))")
        }
        // [B, C, H, W] → [B, H·W, C] tokens, normalised over (C, H·W) as diffusers' group_norm does.
        var x = spatial ? try input.reshape([input.shape[0], channels, -1]) : input
        if let groupNorm { x = spatial ? try groupNorm(x) : try groupNorm(x.permute([0, 2, 1])).permute([0, 2, 1]) }
        if spatial { x = try x.permute([0, 2, 1]) }
        let source = context ?? x
        if source.shape[0] != x.shape[0] {
            throw ModelError.invalidInput(model: "Attention", reason: "context batch \(source.shape[0]) differs from input batch \(x.shape[0])")
        }
        let q = try splitHeads(toQ(x))
        let (k, v) = try keysAndValues(of: source)
        // The negative context only concerns cross-attention: self-attention layers never see it.
        let z = try processor.attend(self, query: q, key: k, value: v, call: isCrossAttention ? call : AttentionCall())
        let merged = try z.permute([0, 2, 1, 3]).reshape([x.shape[0], x.shape[1], heads * headDim])
        var y = try outDropout(toOut(merged))
        if spatial { y = try y.permute([0, 2, 1]).reshape(input.shape) }
        return residualConnection ? try y + input : y
    }
}

extension Module {
    /// Every attention layer below this module with its path (e.g. `…transformer_blocks.0.attn2`).
    public var attentionLayers: [(name: String, layer: Attention)] {
        namedModules().compactMap { entry in (entry.module as? Attention).map { (entry.name, $0) } }
    }

    /// Installs `processor` on the attention layers whose path matches `pattern`. NASA only
    /// concerns cross-attention, so with `crossAttentionOnly` self-attention matches are skipped.
    /// Returns the paths changed; a pattern selecting no layer is an error.
    @discardableResult
    public func setAttentionProcessor(_ processor: AttentionProcessor, layers pattern: String = "**",
                                      crossAttentionOnly: Bool = false) throws -> [String] {
        let glob = NameGlob(pattern)
        let selected = attentionLayers.filter { glob.matches($0.name) && (!crossAttentionOnly || $0.layer.isCrossAttention) }
        guard !selected.isEmpty else {
            throw ModelError.noMatch(pattern: pattern, what: crossAttentionOnly ? "cross-attention layer" : "attention layer")
        }
        for (_, layer) in selected { layer.processor = processor }
        return selected.map(\.name)
    }

    /// NASA with strength α on the cross-attention layers matching `pattern` (all by default).
    @discardableResult
    public func enableNASA(alpha: Float, layers pattern: String = "**") throws -> [String] {
        try setAttentionProcessor(NASAAttention(alpha: alpha), layers: pattern, crossAttentionOnly: true)
    }

    /// Back to the standard processor on the layers matching `pattern` (all by default).
    @discardableResult
    public func disableNASA(layers pattern: String = "**") throws -> [String] {
        try setAttentionProcessor(StandardAttention(), layers: pattern)
    }
}
