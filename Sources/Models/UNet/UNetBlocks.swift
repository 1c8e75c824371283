import Engine

/// What a block needs besides its input: the time embedding, the text context and the call's
/// extras (NASA's negative context).
public struct BlockInputs {
    public let temb: Tensor
    public let context: Tensor
    public let call: AttentionCall
}

/// diffusers `CrossAttnDownBlock2D` / `DownBlock2D` (no attentions): resnets interleaved with
/// transformers, then an optional stride-2 downsampler. Returns the output and every skip state.
public final class DownBlock2D: Module {
    let resnets: ModuleList<ResnetBlock2D>
    let attentions: ModuleList<Transformer2DModel>?
    let downsampler: Downsample2D?
    public let hasCrossAttention: Bool

    init(inChannels: Int, outChannels: Int, tembChannels: Int, layers: Int, groups: Int, eps: Float,
         addDownsample: Bool, downsamplePadding: Int, crossAttention: (heads: Int, transformerLayers: Int, contextDim: Int, linearProjection: Bool)?) throws {
        resnets = ModuleList(try (0..<layers).map { i in
            try ResnetBlock2D(inChannels: i == 0 ? inChannels : outChannels, outChannels: outChannels, tembChannels: tembChannels, groups: groups, eps: eps)
        })
        hasCrossAttention = crossAttention != nil
        attentions = try crossAttention.map { c in
            ModuleList(try (0..<layers).map { _ in
                try Transformer2DModel(channels: outChannels, heads: c.heads, headDim: outChannels / c.heads, layers: c.transformerLayers,
                                       contextDim: c.contextDim, groups: groups, linearProjection: c.linearProjection)
            })
        }
        downsampler = addDownsample ? Downsample2D(channels: outChannels, padding: downsamplePadding) : nil
        super.init()
        if let attentions { child("attentions", attentions) }
        child("resnets", resnets)
        if let downsampler { child("downsamplers", ModuleList<Downsample2D>([downsampler])) }
    }

    public override var typeName: String { hasCrossAttention ? "CrossAttnDownBlock2D" : "DownBlock2D" }

    func callAsFunction(_ x: Tensor, _ inputs: BlockInputs) throws -> (Tensor, [Tensor]) {
        var h = x, states: [Tensor] = []
        for (i, resnet) in resnets.items.enumerated() {
            h = try resnet(h, temb: inputs.temb)
            if let attentions { h = try attentions[i](h, context: inputs.context, call: inputs.call) }
            states.append(h)
        }
        if let downsampler {
            h = try downsampler(h)
            states.append(h)
        }
        return (h, states)
    }
}

/// diffusers `CrossAttnUpBlock2D` / `UpBlock2D`: each resnet takes the input concatenated with one
/// skip state (last first), then a transformer; then an optional upsampler.
public final class UpBlock2D: Module {
    let resnets: ModuleList<ResnetBlock2D>
    let attentions: ModuleList<Transformer2DModel>?
    let upsampler: Upsample2D?
    public let hasCrossAttention: Bool

    init(inChannels: Int, previousOutputChannels: Int, outChannels: Int, tembChannels: Int, layers: Int, groups: Int, eps: Float,
         addUpsample: Bool, crossAttention: (heads: Int, transformerLayers: Int, contextDim: Int, linearProjection: Bool)?) throws {
        resnets = ModuleList(try (0..<layers).map { i in
            let skipChannels = i == layers - 1 ? inChannels : outChannels
            let resnetIn = i == 0 ? previousOutputChannels : outChannels
            return try ResnetBlock2D(inChannels: resnetIn + skipChannels, outChannels: outChannels, tembChannels: tembChannels, groups: groups, eps: eps)
        })
        hasCrossAttention = crossAttention != nil
        attentions = try crossAttention.map { c in
            ModuleList(try (0..<layers).map { _ in
                try Transformer2DModel(channels: outChannels, heads: c.heads, headDim: outChannels / c.heads, layers: c.transformerLayers,
                                       contextDim: c.contextDim, groups: groups, linearProjection: c.linearProjection)
            })
        }
        upsampler = addUpsample ? Upsample2D(channels: outChannels) : nil
        super.init()
        if let attentions { child("attentions", attentions) }
        child("resnets", resnets)
        if let upsampler { child("upsamplers", ModuleList<Upsample2D>([upsampler])) }
    }

    public override var typeName: String { hasCrossAttention ? "CrossAttnUpBlock2D" : "UpBlock2D" }

    var skipCount: Int { resnets.count }

    func callAsFunction(_ x: Tensor, skips: [Tensor], _ inputs: BlockInputs) throws -> Tensor {
        var h = x, remaining = skips
        for (i, resnet) in resnets.items.enumerated() {
            h = try resnet(Tensor.concat([h, remaining.removeLast()], axis: 1), temb: inputs.temb)
            if let attentions { h = try attentions[i](h, context: inputs.context, call: inputs.call) }
        }
        if let upsampler { h = try upsampler(h) }
        return h
    }
}

/// diffusers `UNetMidBlock2DCrossAttn`: resnet, then (transformer, resnet) per layer.
public final class MidBlock2DCrossAttn: Module {
    let resnets: ModuleList<ResnetBlock2D>
    let attentions: ModuleList<Transformer2DModel>

    init(channels: Int, tembChannels: Int, groups: Int, eps: Float, heads: Int, transformerLayers: Int, contextDim: Int,
         linearProjection: Bool, layers: Int = 1) throws {
        resnets = ModuleList(try (0...layers).map { _ in
            try ResnetBlock2D(inChannels: channels, outChannels: channels, tembChannels: tembChannels, groups: groups, eps: eps)
        })
        attentions = ModuleList(try (0..<layers).map { _ in
            try Transformer2DModel(channels: channels, heads: heads, headDim: channels / heads, layers: transformerLayers,
                                   contextDim: contextDim, groups: groups, linearProjection: linearProjection)
        })
        super.init()
        child("attentions", attentions)
        child("resnets", resnets)
    }

    public override var typeName: String { "UNetMidBlock2DCrossAttn" }

    func callAsFunction(_ x: Tensor, _ inputs: BlockInputs) throws -> Tensor {
        var h = try resnets[0](x, temb: inputs.temb)
        for (i, attention) in attentions.items.enumerated() {
            h = try attention(h, context: inputs.context, call: inputs.call)
            h = try resnets[i + 1](h, temb: inputs.temb)
        }
        return h
    }
}
