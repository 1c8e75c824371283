import Engine

/// diffusers `PixArtTransformer2DModel` (PixArt-α): patch embedding, adaLN-single timestep
/// conditioning, caption projection, PixArt transformer blocks, and a final modulated LayerNorm,
/// projection and unpatchify. With out_channels = 2·in_channels the second half is the learned
/// variance (as PixArt-α's 8 channels); the model returns all channels.
/// sample: [B, in, H, W], timestep: [B], context: [B, L, captionChannels] → [B, out, H, W].
public final class PixArtTransformer2DModel: Module {
    public static let architecture = "PixArtTransformer2DModel"
    public let config: ModelConfig
    public let inChannels: Int, outChannels: Int, patchSize: Int, dim: Int, contextChannels: Int
    /// The latent side the position embeddings were built for.
    public let sampleSize: Int
    /// Whether the timestep embedding also takes resolution and aspect-ratio conditions
    /// (use_additional_conditions: PixArt-α 1024).
    public var usesAdditionalConditions: Bool { adalnSingle.resolutionEmbedder != nil }
    let posEmbed: PatchEmbed
    let blocks: ModuleList<PixArtTransformerBlock>
    let normOut: LayerNorm
    let scaleShiftTable: Tensor
    let projOut: Linear
    let adalnSingle: AdaLayerNormSingle
    let captionProjection: CaptionProjection?

    static let knownKeys: Set<String> = [
        "num_attention_heads", "attention_head_dim", "in_channels", "out_channels", "num_layers", "dropout", "norm_num_groups",
        "cross_attention_dim", "attention_bias", "sample_size", "patch_size", "activation_fn", "num_embeds_ada_norm",
        "upcast_attention", "norm_type", "norm_elementwise_affine", "norm_eps", "interpolation_scale",
        "use_additional_conditions", "caption_channels", "attention_type",
    ]

    public init(config: ModelConfig, seed: UInt64 = 0) throws {
        let c = config
        try c.requireKnown(Self.knownKeys)
        try c.requireDefault("norm_type", "ada_norm_single", "another norm type")
        try c.requireDefault("activation_fn", "gelu-approximate", "another activation")
        try c.requireDefault("attention_bias", true, "attention without bias")
        try c.requireDefault("attention_type", "default", "gated attention")
        let heads = try c.int("num_attention_heads", 16), headDim = try c.int("attention_head_dim", 72)
        let sampleSize = try c.int("sample_size", 128)
        self.sampleSize = sampleSize
        dim = heads * headDim
        inChannels = try c.int("in_channels", 4)
        outChannels = try c.optionalInt("out_channels") ?? inChannels
        patchSize = try c.int("patch_size", 2)
        let layers = try c.int("num_layers", 28)
        let crossAttentionDim = try c.int("cross_attention_dim", 1152)
        guard crossAttentionDim == dim else { throw c.fail("cross_attention_dim \(crossAttentionDim) must equal heads·head_dim = \(dim) (captions are projected to the model width)") }
        guard let captions = try c.optionalInt("caption_channels") else { throw c.fail("caption_channels is required (PixArt projects T5 features)") }
        contextChannels = captions
        let additional = try c.isNull("use_additional_conditions") ? sampleSize == 128 : c.bool("use_additional_conditions", false)
        if additional && dim % 3 != 0 { throw c.fail("resolution conditions need a width divisible by 3, got \(dim)") }
        let interpolation = c.isNull("interpolation_scale") ? Double(Swift.max(sampleSize / 64, 1)) : Double(try c.float("interpolation_scale", 1))
        let eps = try c.float("norm_eps", 1e-6), affine = try c.bool("norm_elementwise_affine", false)
        self.config = c
        let dim = self.dim, inChannels = self.inChannels, outChannels = self.outChannels, patchSize = self.patchSize
        (posEmbed, blocks, normOut, scaleShiftTable, projOut, adalnSingle, captionProjection) = Initialization.withSeed(seed) {
            (PatchEmbed(sampleSize: sampleSize, patchSize: patchSize, inChannels: inChannels, dim: dim, interpolationScale: interpolation),
             ModuleList((0..<layers).map { _ in PixArtTransformerBlock(dim: dim, heads: heads, headDim: headDim, contextDim: dim, eps: eps, affine: affine) }),
             LayerNorm(dim, eps: 1e-6, affine: false),
             try! Initialization.normal([2, dim], std: 1) / Float(dim).squareRoot(),
             Linear(dim, patchSize * patchSize * outChannels),
             AdaLayerNormSingle(dim: dim, additionalConditions: additional),
             CaptionProjection(inFeatures: captions, hidden: dim))
        }
        super.init()
        child("pos_embed", posEmbed)
        child("transformer_blocks", blocks)
        child("norm_out", normOut)
        parameter("scale_shift_table", scaleShiftTable)
        child("proj_out", projOut)
        child("adaln_single", adalnSingle)
        if let captionProjection { child("caption_projection", captionProjection) }
    }

    public override var typeName: String { Self.architecture }

    /// Re-draws the weights as PixArt-α's own training code initialises them (its
    /// `initialize_weights`; diffusers only loads trained ones): Xavier-uniform linear layers and
    /// patch projection with zero biases, N(0, 0.02) for the timestep MLP, the adaLN projection and
    /// the caption projection, and zero for every cross-attention output projection and the final
    /// projection, so a fresh model starts as self-attention blocks that predict ε = 0 and lets
    /// text in gradually. The position features and scale-shift tables are left as they are. For
    /// models trained from scratch (the shapes world's teachers); a loaded checkpoint overrides it.
    public func initializeForTraining(seed: UInt64) throws {
        try Initialization.withSeed(seed) {
            func xavier(_ w: Tensor, fanIn: Int, fanOut: Int) throws {
                let bound = (6 / Float(fanIn + fanOut)).squareRoot()
                try w.assign(Initialization.uniform(w.shape, bound: bound))
            }
            func zero(_ t: Tensor?) throws { if let t { try t.assign(Tensor.zeros(t.shape)) } }
            for (_, module) in namedModules(includeAdapters: false) {
                guard let linear = module as? Linear else { continue }
                try xavier(linear.weight, fanIn: linear.inFeatures, fanOut: linear.outFeatures)
                try zero(linear.bias)
            }
            let proj = posEmbed.proj.weight
            try xavier(proj, fanIn: proj.count / proj.shape[0], fanOut: proj.shape[0])
            try zero(posEmbed.proj.bias)
            var small = [adalnSingle.timestepEmbedder.linear1.weight, adalnSingle.timestepEmbedder.linear2.weight, adalnSingle.linear.weight]
            if let captionProjection { small += [captionProjection.linear1.weight, captionProjection.linear2.weight] }
            for w in small { try w.assign(Initialization.normal(w.shape, std: 0.02)) }
            for block in blocks.items {
                try zero(block.attn2.toOut.weight)
                try zero(block.attn2.toOut.bias)
            }
            try zero(projOut.weight)
            try zero(projOut.bias)
        }
    }

    /// The prediction; `resolution` [B, 2] and `aspectRatio` [B, 1] only for PixArt-α 1024-style
    /// models (use_additional_conditions). `negativeContext` ([B, L⁻, captionChannels]) reaches NASA.
    /// `contextMask` [B, L] is diffusers' `encoder_attention_mask` (1 = attend, 0 = a padding token):
    /// as there, (1 − mask) · (−10000) is added to every cross-attention's scores on those keys
    /// (PixArtAlphaPipeline passes T5's attention mask). `negativeContextMask` [B, L⁻] does the same
    /// for NASA's negative context.
    public func callAsFunction(_ sample: Tensor, timestep: Tensor, context: Tensor, contextMask: Tensor? = nil,
                               negativeContext: Tensor? = nil, negativeContextMask: Tensor? = nil,
                               resolution: Tensor? = nil, aspectRatio: Tensor? = nil) throws -> Tensor {
        let name = Self.architecture
        guard sample.rank == 4, sample.shape[1] == inChannels, sample.shape[2] % patchSize == 0, sample.shape[3] % patchSize == 0 else {
            throw ModelError.invalidInput(model: name, reason: "sample must be [B, \(inChannels), H, W] with H, W multiples of \(patchSize), got \(shapeText(sample.shape))")
        }
        let batch = sample.shape[0]
        guard context.rank == 3, context.shape[0] == batch, context.shape[2] == contextChannels else {
            throw ModelError.invalidInput(model: name, reason: "context must be [\(batch), L, \(contextChannels)], got \(shapeText(context.shape))")
        }
        if let negativeContext, negativeContext.rank != 3 || negativeContext.shape[0] != batch || negativeContext.shape[2] != contextChannels {
            throw ModelError.invalidInput(model: name, reason: "negative context must be [\(batch), L, \(contextChannels)], got \(shapeText(negativeContext.shape))")
        }
        let masks: [(String, Tensor?, Tensor?)] = [("context mask", contextMask, context),
                                                   ("negative context mask", negativeContextMask, negativeContext)]
        for (what, mask, text) in masks {
            guard let mask else { continue }
            guard let text else {
                throw ModelError.invalidInput(model: name, reason: "a negative context mask needs a negative context")
            }
            guard mask.shape == [batch, text.shape[1]] else {
                throw ModelError.invalidInput(model: name, reason: "\(what) must be [\(batch), \(text.shape[1])] (one value per text token), got \(shapeText(mask.shape))")
            }
        }
        guard timestep.count == batch || timestep.count == 1 else {
            throw ModelError.invalidInput(model: name, reason: "timestep must be [B] or one value, got \(shapeText(timestep.shape)) for batch \(batch)")
        }
        let t = timestep.count == batch ? try timestep.reshape([batch]) : try timestep.reshape([1]).expand([batch])
        let (gh, gw) = (sample.shape[2] / patchSize, sample.shape[3] / patchSize)
        var h = try posEmbed(sample)
        let (modulation, embedded) = try adalnSingle(t, resolution: resolution, aspectRatio: aspectRatio)
        let project = { (x: Tensor) throws -> Tensor in try self.captionProjection.map { try $0(x) } ?? x }
        let call = AttentionCall(negativeContext: try negativeContext.map(project),
                                 contextBias: try contextMask.map(AttentionCall.keyBias(mask:)),
                                 negativeContextBias: try negativeContextMask.map(AttentionCall.keyBias(mask:)))
        let text = try project(context)
        for block in blocks.items { h = try block(h, modulation: modulation, context: text, call: call) }
        let parts = try (scaleShiftTable.unsqueeze(0) + embedded.unsqueeze(1)).chunk(2, axis: 1)
        h = try normOut(h) * (parts[1] + 1) + parts[0]
        h = try projOut(h)
        // unpatchify: [B, gh·gw, p·p·C] → [B, gh, gw, p, p, C] → [B, C, gh, p, gw, p] → [B, C, H, W]
        return try h.reshape([batch, gh, gw, patchSize, patchSize, outChannels])
            .permute([0, 5, 1, 3, 2, 4])
            .reshape([batch, outChannels, gh * patchSize, gw * patchSize])
    }
}
