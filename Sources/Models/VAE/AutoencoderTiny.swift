import Engine

/// diffusers `AutoencoderTiny`: TAESD, a small distilled VAE with deterministic latents (no
/// distribution), cheap enough to decode inside a training loss (SwiftBrush v2's CLIP loss) or for
/// previews. images: [B, in, H, W] in [−1, 1] ↔ latents [B, latent, H/f, W/f],
/// f = 2^(len(encoder_block_out_channels) − 1) (8 for TAESD).
///
/// Forward and backward both run through the engine's autodiff.
public final class AutoencoderTiny: Module, LatentAutoencoder {
    public static let architecture = "AutoencoderTiny"
    public let config: ModelConfig
    public let inChannels: Int, outChannels: Int, latentChannels: Int
    public let downsamplingFactor: Int
    /// `latent_magnitude` and `latent_shift`: raw latents ↔ [0, 1] (`scaleLatents`).
    public let latentMagnitude: Float, latentShift: Float
    /// `scaling_factor` (1 for TAESD) and `shift_factor` (0 for TAESD; set for TAESD3 and TAEF1).
    public let scalingFactor: Float, shiftFactor: Float
    let encoder: EncoderTiny, decoder: DecoderTiny

    /// Every key of diffusers' AutoencoderTiny config (`block_out_channels` is a copy of
    /// decoder_block_out_channels diffusers writes; it is ignored).
    static let knownKeys: Set<String> = [
        "in_channels", "out_channels", "encoder_block_out_channels", "decoder_block_out_channels", "act_fn", "upsample_fn",
        "latent_channels", "upsampling_scaling_factor", "num_encoder_blocks", "num_decoder_blocks", "latent_magnitude",
        "latent_shift", "force_upcast", "scaling_factor", "shift_factor", "block_out_channels",
    ]

    /// Builds the network from a config; weights are drawn from `seed` (load a checkpoint after).
    public init(config: ModelConfig, seed: UInt64 = 0) throws {
        let c = config
        try c.requireKnown(Self.knownKeys)
        try c.requireDefault("act_fn", "relu", "another activation")
        try c.requireDefault("upsample_fn", "nearest", "another upsampling mode")
        let encoderChannels = try c.intList("encoder_block_out_channels", [64, 64, 64, 64])
        let decoderChannels = try c.intList("decoder_block_out_channels", [64, 64, 64, 64])
        let encoderBlocks = try c.intList("num_encoder_blocks", [1, 3, 3, 3]), decoderBlocks = try c.intList("num_decoder_blocks", [3, 3, 3, 1])
        for (name, channels, blocks) in [("encoder", encoderChannels, encoderBlocks), ("decoder", decoderChannels, decoderBlocks)] {
            guard !channels.isEmpty, channels.count == blocks.count else {
                throw c.fail("\(name)_block_out_channels (\(channels.count)) and num_\(name)_blocks (\(blocks.count)) must have the same non-zero length")
            }
            // NOTE: diffusers chains the stages with channels→channels convolutions, so only equal
            // widths run (TAESD: 64 everywhere).
            guard Set(channels).count == 1, channels[0] >= 1 else { throw c.fail("\(name)_block_out_channels must all be equal, got \(channels)") }
            guard blocks.allSatisfy({ $0 >= 0 }) else { throw c.fail("num_\(name)_blocks must be ≥ 0, got \(blocks)") }
        }
        self.config = c
        inChannels = try c.int("in_channels", 3)
        outChannels = try c.int("out_channels", 3)
        latentChannels = try c.int("latent_channels", 4)
        guard inChannels >= 1, outChannels >= 1, latentChannels >= 1 else { throw c.fail("channel counts must be ≥ 1") }
        let upsampling = try c.int("upsampling_scaling_factor", 2)
        guard upsampling >= 1 else { throw c.fail("upsampling_scaling_factor must be ≥ 1, got \(upsampling)") }
        latentMagnitude = try c.float("latent_magnitude", 3)
        latentShift = try c.float("latent_shift", 0.5)
        scalingFactor = try c.float("scaling_factor", 1)
        guard scalingFactor != 0, latentMagnitude != 0 else { throw c.fail("scaling_factor and latent_magnitude must not be 0") }
        shiftFactor = try c.float("shift_factor", 0)
        downsamplingFactor = 1 << (encoderChannels.count - 1)
        let (inChannels, outChannels, latentChannels) = (inChannels, outChannels, latentChannels)
        (encoder, decoder) = Initialization.withSeed(seed) {
            (EncoderTiny(inChannels: inChannels, outChannels: latentChannels, blocks: encoderBlocks, channels: encoderChannels[0]),
             DecoderTiny(inChannels: latentChannels, outChannels: outChannels, blocks: decoderBlocks, channels: decoderChannels[0],
                         upsampling: upsampling))
        }
        super.init()
        child("encoder", encoder)
        child("decoder", decoder)
    }

    public override var typeName: String { Self.architecture }

    /// Raw latents of images in [−1, 1] (diffusers `encode(x).latents`).
    /// images: [B, in, H, W], H and W multiples of `downsamplingFactor` → [B, latent, H/f, W/f].
    public func encode(_ images: Tensor) throws -> Tensor {
        try checkImages(images, model: Self.architecture)
        return try encoder(images)
    }

    /// Images of raw latents (diffusers `decode(z).sample`), about [−1, 1] (not clamped).
    /// latents: [B, latent, h, w] → [B, out, h·u^(n−1), w·u^(n−1)], u = upsampling_scaling_factor.
    public func decode(_ latents: Tensor) throws -> Tensor {
        try checkLatents(latents, model: Self.architecture)
        return try decoder(latents)
    }

    /// Raw latents → [0, 1] as TAESD stores them in an 8-bit image (diffusers `scale_latents`):
    /// clamp(z / (2 · latent_magnitude) + latent_shift, 0, 1).
    public func scaleLatents(_ latents: Tensor) throws -> Tensor {
        try (latents / (2 * latentMagnitude) + latentShift).clamp(min: 0, max: 1)
    }

    /// [0, 1] → raw latents (diffusers `unscale_latents`): (x − latent_shift) · 2 · latent_magnitude.
    public func unscaleLatents(_ x: Tensor) -> Tensor {
        (x - latentShift) * (2 * latentMagnitude)
    }

    /// Pipeline latents of images: (encode(images) − shift_factor) · scaling_factor.
    public func latents(fromImages images: Tensor) throws -> Tensor {
        try (encode(images) - shiftFactor) * scalingFactor
    }

    /// Images of pipeline latents, as pipelines decode: decode(z / scaling_factor + shift_factor).
    public func images(fromLatents latents: Tensor) throws -> Tensor {
        try decode(latents / scalingFactor + shiftFactor)
    }
}

/// diffusers `AutoencoderTinyBlock`: ReLU(conv(ReLU(conv(ReLU(conv(x))))) + x), 3×3 convolutions
/// (keys `conv.0`, `conv.2`, `conv.4`; the skip is the identity, as every TAESD block keeps its width).
/// x: [B, C, H, W] → [B, C, H, W].
public final class AutoencoderTinyBlock: Module {
    let convs: [Conv2d]

    init(channels: Int) {
        convs = (0..<3).map { _ in Conv2d(channels, channels, kernelSize: 3, padding: 1) }
        super.init()
        let sequence = Module()
        for (i, conv) in convs.enumerated() { sequence.child(String(2 * i), conv) }
        child("conv", sequence)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let h = try convs[2](convs[1](convs[0](x).relu()).relu())
        return try (h + x).relu()
    }
}

/// One entry of TAESD's `nn.Sequential` stacks; only convolutions and blocks hold parameters, but
/// every entry takes an index (diffusers' key `layers.5.weight` counts the ReLUs and upsamplers).
enum TinyLayer {
    case conv(Conv2d), block(AutoencoderTinyBlock), relu, upsample(scale: Int)
}

/// `nn.Sequential` of `TinyLayer`s, registering each parameterised entry under its position.
final class TinySequential: Module {
    let layers: [TinyLayer]

    init(_ layers: [TinyLayer]) {
        self.layers = layers
        super.init()
        for (i, layer) in layers.enumerated() {
            switch layer {
            case .conv(let conv): child(String(i), conv)
            case .block(let block): child(String(i), block)
            case .relu, .upsample: break
            }
        }
    }

    override var typeName: String { "Sequential" }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        try layers.reduce(x) { h, layer in
            switch layer {
            case .conv(let conv): return try conv(h)
            case .block(let block): return try block(h)
            case .relu: return h.relu()
            case .upsample(let scale): return try h.upsampleNearest(scale: scale)
            }
        }
    }
}

/// diffusers `EncoderTiny`: (x + 1) / 2, then per stage a 3×3 convolution (stride 2 and no bias
/// after the first) and that stage's blocks, then a 3×3 convolution to the latent channels.
public final class EncoderTiny: Module {
    let layers: TinySequential

    init(inChannels: Int, outChannels: Int, blocks: [Int], channels: Int) {
        var list: [TinyLayer] = []
        for (i, count) in blocks.enumerated() {
            list.append(.conv(i == 0 ? Conv2d(inChannels, channels, kernelSize: 3, padding: 1)
                                     : Conv2d(channels, channels, kernelSize: 3, stride: 2, padding: 1, bias: false)))
            list += (0..<count).map { _ in .block(AutoencoderTinyBlock(channels: channels)) }
        }
        list.append(.conv(Conv2d(channels, outChannels, kernelSize: 3, padding: 1)))
        layers = TinySequential(list)
        super.init()
        child("layers", layers)
    }

    func callAsFunction(_ images: Tensor) throws -> Tensor {
        // TAESD works on [0, 1] images.
        try layers((images + 1) / 2)
    }
}

/// diffusers `DecoderTiny`: the soft clamp tanh(z / 3) · 3, a 3×3 convolution and ReLU, then per
/// stage its blocks, an upsampler (nearest, all but the last stage) and a 3×3 convolution (no
/// bias, except the last one to the image channels); finally [0, 1] → [−1, 1].
public final class DecoderTiny: Module {
    let layers: TinySequential

    init(inChannels: Int, outChannels: Int, blocks: [Int], channels: Int, upsampling: Int) {
        var list: [TinyLayer] = [.conv(Conv2d(inChannels, channels, kernelSize: 3, padding: 1)), .relu]
        for (i, count) in blocks.enumerated() {
            let isLast = i == blocks.count - 1
            list += (0..<count).map { _ in .block(AutoencoderTinyBlock(channels: channels)) }
            if !isLast { list.append(.upsample(scale: upsampling)) }
            list.append(.conv(Conv2d(channels, isLast ? outChannels : channels, kernelSize: 3, padding: 1, bias: isLast)))
        }
        layers = TinySequential(list)
        super.init()
        child("layers", layers)
    }

    func callAsFunction(_ latents: Tensor) throws -> Tensor {
        let clamped = (latents / 3).tanh() * 3
        return try layers(clamped) * 2 - 1
    }
}
