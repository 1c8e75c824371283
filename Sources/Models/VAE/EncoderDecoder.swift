import Engine

/// The shape of an `AutoencoderKL`'s encoder and decoder, from its config.
struct VAEShape {
    let blockOutChannels: [Int]
    let layersPerBlock: Int
    let groups: Int
    let addMidAttention: Bool
    /// diffusers builds every norm of the VAE with eps 1e-6.
    let eps: Float = 1e-6
}

/// diffusers `Encoder` (vae.py) with `double_z`: conv_in → DownEncoderBlock2D per entry of
/// block_out_channels (stride-2 between them) → UNetMidBlock2D → GroupNorm → SiLU → conv_out to
/// 2·latent channels (mean and logvar). x: [B, in, H, W] → [B, 2·latent, H/f, W/f], f = 2^(blocks−1).
public final class VAEEncoder: Module {
    let convIn: Conv2d
    let downBlocks: ModuleList<DownEncoderBlock2D>
    let midBlock: UNetMidBlock2D
    let convNormOut: GroupNorm, convOut: Conv2d

    init(inChannels: Int, latentChannels: Int, shape s: VAEShape) throws {
        let channels = s.blockOutChannels
        convIn = Conv2d(inChannels, channels[0], kernelSize: 3, padding: 1)
        downBlocks = ModuleList(try channels.indices.map { i in
            try DownEncoderBlock2D(inChannels: channels[Swift.max(i - 1, 0)], outChannels: channels[i], layers: s.layersPerBlock,
                                   groups: s.groups, eps: s.eps, addDownsample: i < channels.count - 1)
        })
        midBlock = try UNetMidBlock2D(channels: channels.last!, groups: s.groups, eps: s.eps, addAttention: s.addMidAttention)
        convNormOut = try GroupNorm(groups: s.groups, channels: channels.last!, eps: s.eps)
        convOut = Conv2d(channels.last!, 2 * latentChannels, kernelSize: 3, padding: 1)
        super.init()
        child("conv_in", convIn)
        child("down_blocks", downBlocks)
        child("mid_block", midBlock)
        child("conv_norm_out", convNormOut)
        child("conv_out", convOut)
    }

    public override var typeName: String { "Encoder" }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = try convIn(x)
        for block in downBlocks.items { h = try block(h) }
        h = try midBlock(h)
        return try convOut(convNormOut(h).silu())
    }
}

/// diffusers `Decoder` (vae.py, norm_type "group"): conv_in → UNetMidBlock2D → UpDecoderBlock2D
/// per entry of the reversed block_out_channels, each with layers_per_block + 1 resnets (×2
/// between them) → GroupNorm → SiLU → conv_out. z: [B, latent, h, w] → [B, out, h·f, w·f].
public final class VAEDecoder: Module {
    let convIn: Conv2d
    let upBlocks: ModuleList<UpDecoderBlock2D>
    let midBlock: UNetMidBlock2D
    let convNormOut: GroupNorm, convOut: Conv2d

    init(latentChannels: Int, outChannels: Int, shape s: VAEShape) throws {
        let reversed = Array(s.blockOutChannels.reversed())
        convIn = Conv2d(latentChannels, reversed[0], kernelSize: 3, padding: 1)
        midBlock = try UNetMidBlock2D(channels: reversed[0], groups: s.groups, eps: s.eps, addAttention: s.addMidAttention)
        upBlocks = ModuleList(try reversed.indices.map { i in
            try UpDecoderBlock2D(inChannels: reversed[Swift.max(i - 1, 0)], outChannels: reversed[i], layers: s.layersPerBlock + 1,
                                 groups: s.groups, eps: s.eps, addUpsample: i < reversed.count - 1)
        })
        convNormOut = try GroupNorm(groups: s.groups, channels: reversed.last!, eps: s.eps)
        convOut = Conv2d(reversed.last!, outChannels, kernelSize: 3, padding: 1)
        super.init()
        // diffusers registers up_blocks (empty, filled later) before mid_block.
        child("conv_in", convIn)
        child("up_blocks", upBlocks)
        child("mid_block", midBlock)
        child("conv_norm_out", convNormOut)
        child("conv_out", convOut)
    }

    public override var typeName: String { "Decoder" }

    func callAsFunction(_ z: Tensor) throws -> Tensor {
        var h = try midBlock(convIn(z))
        for block in upBlocks.items { h = try block(h) }
        return try convOut(convNormOut(h).silu())
    }
}
