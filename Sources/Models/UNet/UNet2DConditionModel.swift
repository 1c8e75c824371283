import Engine

/// diffusers `UNet2DConditionModel` built from its config (the SD-1.5/2.1 family and tiny
/// versions of it): sinusoidal time embedding → conv_in → down blocks → mid block → up blocks
/// with skip connections → GroupNorm → SiLU → conv_out.
/// sample: [B, in, H, W], timestep: [B], context: [B, L, crossAttentionDim] → [B, out, H, W].
public final class UNet2DConditionModel: Module {
    public static let architecture = "UNet2DConditionModel"
    public let config: ModelConfig
    public let inChannels: Int, outChannels: Int, sampleSize: Int, crossAttentionDim: Int
    let centerInputSample: Bool
    let timeProj: Timesteps, timeEmbedding: TimestepEmbedding
    let convIn: Conv2d
    let downBlocks: ModuleList<DownBlock2D>
    let midBlock: MidBlock2DCrossAttn?
    let upBlocks: ModuleList<UpBlock2D>
    let convNormOut: GroupNorm, convOut: Conv2d
    let downsamplings: Int

    /// Every key of diffusers' UNet2DConditionModel config.
    static let knownKeys: Set<String> = [
        "sample_size", "in_channels", "out_channels", "center_input_sample", "flip_sin_to_cos", "freq_shift",
        "down_block_types", "mid_block_type", "up_block_types", "only_cross_attention", "block_out_channels",
        "layers_per_block", "downsample_padding", "mid_block_scale_factor", "dropout", "act_fn", "norm_num_groups",
        "norm_eps", "cross_attention_dim", "transformer_layers_per_block", "reverse_transformer_layers_per_block",
        "encoder_hid_dim", "encoder_hid_dim_type", "attention_head_dim", "num_attention_heads", "dual_cross_attention",
        "use_linear_projection", "class_embed_type", "addition_embed_type", "addition_time_embed_dim", "num_class_embeds",
        "upcast_attention", "resnet_time_scale_shift", "resnet_skip_time_act", "resnet_out_scale_factor",
        "time_embedding_type", "time_embedding_dim", "time_embedding_act_fn", "timestep_post_act", "time_cond_proj_dim",
        "conv_in_kernel", "conv_out_kernel", "projection_class_embeddings_input_dim", "attention_type",
        "class_embeddings_concat", "mid_block_only_cross_attention", "cross_attention_norm", "addition_embed_type_num_heads",
    ]

    /// Builds the network from a config; weights are drawn from `seed` (load a checkpoint after).
    public init(config: ModelConfig, seed: UInt64 = 0) throws {
        let c = config
        try c.requireKnown(Self.knownKeys)
        for (key, value, what) in [("class_embed_type", nil, "class embeddings"), ("addition_embed_type", nil, "SDXL added conditions"),
                                   ("encoder_hid_dim", nil, "a context projection"), ("time_cond_proj_dim", nil, "LCM guidance embedding"),
                                   ("num_class_embeds", nil, "class embeddings"), ("timestep_post_act", nil, "a post-activation"),
                                   ("time_embedding_dim", nil, "a custom time embedding size")] as [(String, Any?, String)] {
            try c.requireDefault(key, value, what)
        }
        try c.requireDefault("dual_cross_attention", false, "dual cross-attention")
        try c.requireDefault("only_cross_attention", false, "cross-attention only blocks")
        try c.requireDefault("upcast_attention", false, "fp32 attention upcast (we compute in fp32 anyway)") // harmless in fp32
        try c.requireDefault("resnet_time_scale_shift", "default", "scale-shift time conditioning")
        try c.requireDefault("time_embedding_type", "positional", "Fourier time embedding")
        try c.requireDefault("act_fn", "silu", "another activation")
        try c.requireDefault("time_embedding_act_fn", nil, "a time-embedding activation")
        try c.requireDefault("conv_in_kernel", 3, "another conv_in kernel")
        try c.requireDefault("conv_out_kernel", 3, "another conv_out kernel")
        try c.requireDefault("mid_block_type", "UNetMidBlock2DCrossAttn", "another mid block")
        try c.requireDefault("attention_type", "default", "gated attention")
        try c.requireDefault("mid_block_scale_factor", 1, "a scaled mid block")
        try c.requireDefault("resnet_out_scale_factor", 1, "scaled resnet outputs")
        try c.requireDefault("reverse_transformer_layers_per_block", nil, "asymmetric transformer depths")
        try c.requireDefault("cross_attention_norm", nil, "a context norm")

        let down = try c.strings("down_block_types", ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"])
        let up = try c.strings("up_block_types", ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"])
        let channels = try c.intList("block_out_channels", [320, 640, 1280, 1280])
        guard down.count == channels.count, up.count == channels.count, !channels.isEmpty else {
            throw c.fail("down_block_types (\(down.count)), up_block_types (\(up.count)) and block_out_channels (\(channels.count)) must have the same length")
        }
        for t in down where t != "CrossAttnDownBlock2D" && t != "DownBlock2D" { throw c.fail("down block type \(t) is not supported") }
        for t in up where t != "CrossAttnUpBlock2D" && t != "UpBlock2D" { throw c.fail("up block type \(t) is not supported") }
        let n = channels.count
        let layers = try c.ints("layers_per_block", count: n, 2)!
        let groups = try c.int("norm_num_groups", 32), eps = try c.float("norm_eps", 1e-5)
        let contextDim = try c.int("cross_attention_dim", 1280)
        // NOTE: diffusers' naming quirk: `attention_head_dim` is the number of heads when
        // `num_attention_heads` is not given (and it never is in SD configs).
        let heads = try c.ints("num_attention_heads", count: n, nil) ?? c.ints("attention_head_dim", count: n, 8)!
        let transformerLayers = try c.ints("transformer_layers_per_block", count: n, 1)!
        let linearProjection = try c.bool("use_linear_projection", false)
        let downsamplePadding = try c.int("downsample_padding", 1)
        for (i, ch) in channels.enumerated() {
            guard ch % groups == 0 else { throw c.fail("block_out_channels[\(i)] = \(ch) is not divisible by norm_num_groups = \(groups)") }
            guard ch % heads[i] == 0 else { throw c.fail("block_out_channels[\(i)] = \(ch) is not divisible by its \(heads[i]) attention heads") }
        }
        self.config = c
        inChannels = try c.int("in_channels", 4)
        outChannels = try c.int("out_channels", 4)
        sampleSize = try c.int("sample_size", 64)
        crossAttentionDim = contextDim
        centerInputSample = try c.bool("center_input_sample", false)
        downsamplings = n - 1
        let timeDim = channels[0] * 4
        (timeProj, timeEmbedding, convIn, downBlocks, midBlock, upBlocks, convNormOut, convOut) = try Initialization.withSeed(seed) {
            let timeProj = Timesteps(dim: channels[0], flipSinToCos: try c.bool("flip_sin_to_cos", true), freqShift: try c.float("freq_shift", 0))
            let timeEmbedding = TimestepEmbedding(inChannels: channels[0], timeEmbedDim: timeDim)
            let convIn = Conv2d(try c.int("in_channels", 4), channels[0], kernelSize: 3, padding: 1)
            var output = channels[0]
            let downBlocks = ModuleList<DownBlock2D>()
            for i in 0..<n {
                let input = output
                output = channels[i]
                let cross = down[i] == "CrossAttnDownBlock2D" ? (heads[i], transformerLayers[i], contextDim, linearProjection) : nil
                downBlocks.append(try DownBlock2D(inChannels: input, outChannels: output, tembChannels: timeDim, layers: layers[i], groups: groups,
                                                  eps: eps, addDownsample: i < n - 1, downsamplePadding: downsamplePadding, crossAttention: cross))
            }
            let midBlock = try MidBlock2DCrossAttn(channels: channels[n - 1], tembChannels: timeDim, groups: groups, eps: eps, heads: heads[n - 1],
                                                   transformerLayers: transformerLayers[n - 1], contextDim: contextDim, linearProjection: linearProjection)
            let reversedChannels = Array(channels.reversed()), reversedHeads = Array(heads.reversed())
            let reversedLayers = Array(layers.reversed()), reversedTransformers = Array(transformerLayers.reversed())
            let upBlocks = ModuleList<UpBlock2D>()
            output = reversedChannels[0]
            for i in 0..<n {
                let previous = output
                output = reversedChannels[i]
                let input = reversedChannels[Swift.min(i + 1, n - 1)]
                let cross = up[i] == "CrossAttnUpBlock2D" ? (reversedHeads[i], reversedTransformers[i], contextDim, linearProjection) : nil
                upBlocks.append(try UpBlock2D(inChannels: input, previousOutputChannels: previous, outChannels: output, tembChannels: timeDim,
                                              layers: reversedLayers[i] + 1, groups: groups, eps: eps, addUpsample: i < n - 1, crossAttention: cross))
            }
            let convNormOut = try GroupNorm(groups: groups, channels: channels[0], eps: eps)
            let convOut = Conv2d(channels[0], try c.int("out_channels", 4), kernelSize: 3, padding: 1)
            return (timeProj, timeEmbedding, convIn, downBlocks, midBlock, upBlocks, convNormOut, convOut)
        }
        super.init()
        child("time_proj", timeProj)
        child("time_embedding", timeEmbedding)
        child("conv_in", convIn)
        child("down_blocks", downBlocks)
        child("up_blocks", upBlocks)
        if let midBlock { child("mid_block", midBlock) }
        child("conv_norm_out", convNormOut)
        child("conv_out", convOut)
    }

    public override var typeName: String { Self.architecture }

    /// The noise (or v) prediction. `negativeContext` reaches the NASA processors, if any.
    public func callAsFunction(_ sample: Tensor, timestep: Tensor, context: Tensor, negativeContext: Tensor? = nil) throws -> Tensor {
        let name = Self.architecture
        guard sample.rank == 4, sample.shape[1] == inChannels else {
            throw ModelError.invalidInput(model: name, reason: "sample must be [B, \(inChannels), H, W], got \(shapeText(sample.shape))")
        }
        let factor = 1 << downsamplings
        guard sample.shape[2] % factor == 0, sample.shape[3] % factor == 0 else {
            throw ModelError.invalidInput(model: name, reason: "height and width must be multiples of \(factor), got \(sample.shape[2])×\(sample.shape[3])")
        }
        let batch = sample.shape[0]
        guard timestep.count == batch || timestep.count == 1 else {
            throw ModelError.invalidInput(model: name, reason: "timestep must be [B] or one value, got \(shapeText(timestep.shape)) for batch \(batch)")
        }
        guard context.rank == 3, context.shape[0] == batch, context.shape[2] == crossAttentionDim else {
            throw ModelError.invalidInput(model: name, reason: "context must be [\(batch), L, \(crossAttentionDim)], got \(shapeText(context.shape))")
        }
        if let negativeContext, negativeContext.rank != 3 || negativeContext.shape[0] != batch || negativeContext.shape[2] != crossAttentionDim {
            throw ModelError.invalidInput(model: name, reason: "negative context must be [\(batch), L, \(crossAttentionDim)], got \(shapeText(negativeContext.shape))")
        }
        let t = timestep.count == batch ? try timestep.reshape([batch]) : try timestep.reshape([1]).expand([batch])
        let temb = try timeEmbedding(timeProj(t))
        let inputs = BlockInputs(temb: temb, context: context, call: AttentionCall(negativeContext: negativeContext))
        var h = try convIn(centerInputSample ? sample * 2 - 1 : sample)
        var skips = [h]
        for block in downBlocks.items {
            let (out, states) = try block(h, inputs)
            h = out
            skips += states
        }
        if let midBlock { h = try midBlock(h, inputs) }
        for block in upBlocks.items {
            let mine = Array(skips.suffix(block.skipCount))
            skips.removeLast(block.skipCount)
            h = try block(h, skips: mine, inputs)
        }
        return try convOut(convNormOut(h).silu())
    }
}
