import Engine

/// diffusers `AutoencoderKL` (the Stable Diffusion / SDXL / SD3 / Flux VAE), built from its config:
/// encoder → quant_conv → a diagonal Gaussian over the latents; post_quant_conv → decoder.
/// images: [B, in, H, W] in [−1, 1] → latents [B, latent, H/f, W/f] → images [B, out, H, W],
/// f = 2^(len(block_out_channels) − 1) (8 for Stable Diffusion).
///
/// Forward and backward both run through the engine's autodiff: `decode` (or `images(fromLatents:)`)
/// can sit inside a loss that is differentiated with respect to the latents.
public final class AutoencoderKL: Module, LatentAutoencoder {
    public static let architecture = "AutoencoderKL"
    public let config: ModelConfig
    public let inChannels: Int, outChannels: Int, latentChannels: Int, sampleSize: Int
    public let downsamplingFactor: Int
    /// `scaling_factor` (0.18215 for SD 1.x/2.x).
    public let scalingFactor: Float
    /// `shift_factor` (null for SD 1.x/2.x/XL, set for SD3 and Flux).
    public let shiftFactor: Float?
    let encoder: VAEEncoder, decoder: VAEDecoder
    let quantConv: Conv2d?, postQuantConv: Conv2d?

    /// Every key of diffusers' AutoencoderKL config.
    static let knownKeys: Set<String> = [
        "in_channels", "out_channels", "down_block_types", "up_block_types", "block_out_channels", "layers_per_block", "act_fn",
        "latent_channels", "norm_num_groups", "sample_size", "scaling_factor", "shift_factor", "latents_mean", "latents_std",
        "force_upcast", "use_quant_conv", "use_post_quant_conv", "mid_block_add_attention",
    ]

    /// Builds the network from a config; weights are drawn from `seed` (load a checkpoint after).
    /// `force_upcast` (a float16 hint) is ignored: Snoopi computes in float32.
    public init(config: ModelConfig, seed: UInt64 = 0) throws {
        let c = config
        try c.requireKnown(Self.knownKeys)
        try c.requireDefault("act_fn", "silu", "another activation")
        try c.requireDefault("latents_mean", nil, "per-channel latent statistics")
        try c.requireDefault("latents_std", nil, "per-channel latent statistics")
        let channels = try c.intList("block_out_channels", [64])
        let down = try c.strings("down_block_types", ["DownEncoderBlock2D"]), up = try c.strings("up_block_types", ["UpDecoderBlock2D"])
        guard !channels.isEmpty, down.count == channels.count, up.count == channels.count else {
            throw c.fail("down_block_types (\(down.count)), up_block_types (\(up.count)) and block_out_channels (\(channels.count)) must have the same length")
        }
        for t in down where t != "DownEncoderBlock2D" { throw c.fail("down block type \(t) is not supported") }
        for t in up where t != "UpDecoderBlock2D" { throw c.fail("up block type \(t) is not supported") }
        let groups = try c.int("norm_num_groups", 32)
        for (i, ch) in channels.enumerated() where ch < 1 || groups < 1 || ch % groups != 0 {
            throw c.fail("block_out_channels[\(i)] = \(ch) is not divisible by norm_num_groups = \(groups)")
        }
        let layers = try c.int("layers_per_block", 1)
        guard layers >= 1 else { throw c.fail("layers_per_block must be ≥ 1, got \(layers)") }
        self.config = c
        inChannels = try c.int("in_channels", 3)
        outChannels = try c.int("out_channels", 3)
        latentChannels = try c.int("latent_channels", 4)
        guard inChannels >= 1, outChannels >= 1, latentChannels >= 1 else { throw c.fail("channel counts must be ≥ 1") }
        sampleSize = try c.int("sample_size", 32)
        scalingFactor = try c.float("scaling_factor", 0.18215)
        guard scalingFactor != 0 else { throw c.fail("scaling_factor must not be 0") }
        shiftFactor = c.isNull("shift_factor") ? nil : try c.float("shift_factor", 0)
        downsamplingFactor = 1 << (channels.count - 1)
        let shape = VAEShape(blockOutChannels: channels, layersPerBlock: layers, groups: groups,
                             addMidAttention: try c.bool("mid_block_add_attention", true))
        let useQuantConv = try c.bool("use_quant_conv", true), usePostQuantConv = try c.bool("use_post_quant_conv", true)
        let (inChannels, outChannels, latentChannels) = (inChannels, outChannels, latentChannels)
        (encoder, decoder, quantConv, postQuantConv) = try Initialization.withSeed(seed) {
            (try VAEEncoder(inChannels: inChannels, latentChannels: latentChannels, shape: shape),
             try VAEDecoder(latentChannels: latentChannels, outChannels: outChannels, shape: shape),
             useQuantConv ? Conv2d(2 * latentChannels, 2 * latentChannels, kernelSize: 1) : nil,
             usePostQuantConv ? Conv2d(latentChannels, latentChannels, kernelSize: 1) : nil)
        }
        super.init()
        child("encoder", encoder)
        child("decoder", decoder)
        if let quantConv { child("quant_conv", quantConv) }
        if let postQuantConv { child("post_quant_conv", postQuantConv) }
    }

    public override var typeName: String { Self.architecture }

    /// The latent distribution of images in [−1, 1] (diffusers `encode(x).latent_dist`).
    /// images: [B, in, H, W], H and W multiples of `downsamplingFactor` → mean, logvar, std:
    /// [B, latent, H/f, W/f].
    public func encode(_ images: Tensor) throws -> DiagonalGaussian {
        try checkImages(images, model: Self.architecture)
        let moments = try encoder(images)
        return try DiagonalGaussian(parameters: quantConv.map { try $0(moments) } ?? moments)
    }

    /// Images of raw (unscaled) latents (diffusers `decode(z).sample`), about [−1, 1].
    /// latents: [B, latent, h, w] → [B, out, h·f, w·f].
    public func decode(_ latents: Tensor) throws -> Tensor {
        try checkLatents(latents, model: Self.architecture)
        return try decoder(postQuantConv.map { try $0(latents) } ?? latents)
    }

    /// Pipeline latents of images, from the posterior mean (diffusers' `retrieve_latents` with
    /// sample_mode "argmax"): z = (mean − shift_factor) · scaling_factor, shift_factor 0 when null.
    public func latents(fromImages images: Tensor) throws -> Tensor {
        try scaled(encode(images).mean)
    }

    /// Pipeline latents of images from one draw of the posterior (sample_mode "sample", as
    /// img2img pipelines encode): z = (mean + std · ε − shift_factor) · scaling_factor.
    public func latents(fromImages images: Tensor, generator: RandomGenerator) throws -> Tensor {
        try scaled(encode(images).sample(generator: generator))
    }

    /// Images of pipeline latents, as pipelines decode: decode(z / scaling_factor + shift_factor),
    /// shift_factor 0 when null.
    public func images(fromLatents latents: Tensor) throws -> Tensor {
        let raw = latents / scalingFactor
        return try decode(shiftFactor.map { raw + $0 } ?? raw)
    }

    private func scaled(_ raw: Tensor) -> Tensor {
        (shiftFactor.map { raw - $0 } ?? raw) * scalingFactor
    }

    /// Attention names of checkpoints saved before diffusers 0.14 (still on the Hub for SD 1.x's
    /// VAE): `query`, `key`, `value`, `proj_attn` in the mid blocks' attention.
    static let deprecatedAttentionNames = ["query": "to_q", "key": "to_k", "value": "to_v", "proj_attn": "to_out.0"]

    /// A checkpoint name in this model's naming: the deprecated attention names are mapped as
    /// diffusers maps them on load (`mid_block.attentions.0.query.weight` → `…to_q.weight`).
    public static func canonicalName(_ name: String) -> String? {
        var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, parts.contains("attentions"), let renamed = deprecatedAttentionNames[parts[parts.count - 2]] else { return name }
        parts[parts.count - 2] = renamed
        return parts.joined(separator: ".")
    }
}
