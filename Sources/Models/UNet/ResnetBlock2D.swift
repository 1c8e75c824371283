import Engine

/// diffusers `ResnetBlock2D` (time_embedding_norm "default", no up/down sampling inside):
/// norm1 → SiLU → conv1 → + time_emb_proj(SiLU(temb)) → norm2 → SiLU → dropout → conv2,
/// plus the input (through conv_shortcut, a 1×1 conv, when the channel count changes).
/// Built with `tembChannels: nil` (the VAE's blocks) it has no time_emb_proj and takes no temb.
/// x: [B, in, H, W], temb: [B, tembChannels] → [B, out, H, W].
public final class ResnetBlock2D: Module {
    let norm1: GroupNorm, conv1: Conv2d, timeEmbProj: Linear?, norm2: GroupNorm, dropout: Dropout, conv2: Conv2d
    let convShortcut: Conv2d?
    let outputScaleFactor: Float

    public init(inChannels: Int, outChannels: Int, tembChannels: Int?, groups: Int, eps: Float,
                dropout p: Float = 0, outputScaleFactor: Float = 1) throws {
        norm1 = try GroupNorm(groups: groups, channels: inChannels, eps: eps)
        conv1 = Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1)
        timeEmbProj = tembChannels.map { Linear($0, outChannels) }
        norm2 = try GroupNorm(groups: groups, channels: outChannels, eps: eps)
        dropout = Dropout(p)
        conv2 = Conv2d(outChannels, outChannels, kernelSize: 3, padding: 1)
        convShortcut = inChannels != outChannels ? Conv2d(inChannels, outChannels, kernelSize: 1) : nil
        self.outputScaleFactor = outputScaleFactor
        super.init()
        child("norm1", norm1)
        child("conv1", conv1)
        if let timeEmbProj { child("time_emb_proj", timeEmbProj) }
        child("norm2", norm2)
        child("dropout", dropout)
        child("conv2", conv2)
        if let convShortcut { child("conv_shortcut", convShortcut) }
    }

    public func callAsFunction(_ x: Tensor, temb: Tensor?) throws -> Tensor {
        var h = try conv1(norm1(x).silu())
        if let timeEmbProj, let temb {
            let t = try timeEmbProj(temb.silu())
            h = try h + t.reshape([t.shape[0], t.shape[1], 1, 1])
        }
        h = try conv2(dropout(norm2(h).silu()))
        let skip = try convShortcut.map { try $0(x) } ?? x
        let sum = try skip + h
        return outputScaleFactor == 1 ? sum : sum / outputScaleFactor
    }
}

/// diffusers `Downsample2D` with a convolution: 3×3, stride 2, padding 1. Key: `conv`.
/// With padding 0 (the VAE encoder's `downsample_padding=0`) diffusers pads one zero row and
/// column after the input instead, (left 0, right 1, top 0, bottom 1): H → ⌊(H − 2)/2⌋ + 1.
public final class Downsample2D: Module {
    let conv: Conv2d
    public init(channels: Int, padding: Int = 1) {
        conv = Conv2d(channels, channels, kernelSize: 3, stride: 2, padding: padding)
        super.init()
        child("conv", conv)
    }
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard conv.padding == 0 else { return try conv(x) }
        return try conv(x.pad([(0, 0), (0, 0), (0, 1), (0, 1)]))
    }
}

/// diffusers `Upsample2D` with a convolution: nearest ×2 (or to `size`), then 3×3 padding 1.
public final class Upsample2D: Module {
    let conv: Conv2d
    public init(channels: Int) {
        conv = Conv2d(channels, channels, kernelSize: 3, padding: 1)
        super.init()
        child("conv", conv)
    }
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try conv(x.upsampleNearest(scale: 2)) }
}
