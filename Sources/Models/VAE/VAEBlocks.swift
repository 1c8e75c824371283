import Engine

/// diffusers `DownEncoderBlock2D`: resnets without a time embedding, then (all but the last block)
/// a stride-2 downsampler with diffusers' asymmetric (0, 1, 0, 1) padding.
/// x: [B, in, H, W] → [B, out, H/2, W/2] (or [B, out, H, W] without the downsampler).
public final class DownEncoderBlock2D: Module {
    let resnets: ModuleList<ResnetBlock2D>
    let downsampler: Downsample2D?

    init(inChannels: Int, outChannels: Int, layers: Int, groups: Int, eps: Float, addDownsample: Bool) throws {
        resnets = ModuleList(try (0..<layers).map { i in
            try ResnetBlock2D(inChannels: i == 0 ? inChannels : outChannels, outChannels: outChannels, tembChannels: nil, groups: groups, eps: eps)
        })
        downsampler = addDownsample ? Downsample2D(channels: outChannels, padding: 0) : nil
        super.init()
        child("resnets", resnets)
        if let downsampler { child("downsamplers", ModuleList<Downsample2D>([downsampler])) }
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = x
        for resnet in resnets.items { h = try resnet(h, temb: nil) }
        return try downsampler.map { try $0(h) } ?? h
    }
}

/// diffusers `UpDecoderBlock2D`: resnets without a time embedding, then (all but the last block)
/// a nearest ×2 upsampler with its 3×3 convolution. x: [B, in, H, W] → [B, out, 2H, 2W].
public final class UpDecoderBlock2D: Module {
    let resnets: ModuleList<ResnetBlock2D>
    let upsampler: Upsample2D?

    init(inChannels: Int, outChannels: Int, layers: Int, groups: Int, eps: Float, addUpsample: Bool) throws {
        resnets = ModuleList(try (0..<layers).map { i in
            try ResnetBlock2D(inChannels: i == 0 ? inChannels : outChannels, outChannels: outChannels, tembChannels: nil, groups: groups, eps: eps)
        })
        upsampler = addUpsample ? Upsample2D(channels: outChannels) : nil
        super.init()
        child("resnets", resnets)
        if let upsampler { child("upsamplers", ModuleList<Upsample2D>([upsampler])) }
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = x
        for resnet in resnets.items { h = try resnet(h, temb: nil) }
        return try upsampler.map { try $0(h) } ?? h
    }
}

/// diffusers `UNetMidBlock2D` as the VAE builds it (no time embedding, one layer): resnet, then
/// (when `addAttention`) a one-head self-attention over the H·W positions with its own GroupNorm
/// and a residual connection, then a second resnet. x: [B, C, H, W] → [B, C, H, W].
public final class UNetMidBlock2D: Module {
    let attention: Attention?
    let resnets: ModuleList<ResnetBlock2D>

    init(channels: Int, groups: Int, eps: Float, addAttention: Bool) throws {
        resnets = ModuleList(try (0..<2).map { _ in
            try ResnetBlock2D(inChannels: channels, outChannels: channels, tembChannels: nil, groups: groups, eps: eps)
        })
        // diffusers: heads = channels / attention_head_dim with attention_head_dim = channels.
        attention = addAttention
            ? Attention(queryDim: channels, heads: 1, headDim: channels, bias: true,
                        groupNorm: try GroupNorm(groups: groups, channels: channels, eps: eps), residualConnection: true)
            : nil
        super.init()
        if let attention { child("attentions", ModuleList<Attention>([attention])) }
        child("resnets", resnets)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = try resnets[0](x, temb: nil)
        if let attention { h = try attention(h) }
        return try resnets[1](h, temb: nil)
    }
}
