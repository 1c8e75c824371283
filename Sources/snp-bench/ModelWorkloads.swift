import Engine
import Foundation
import Models

/// The model configs of the benchmark (the same as Scripts/bench_torch.py builds in PyTorch).
enum BenchModels {
    /// Tiny UNet: sample 32, block_out (64, 128, 256), 2 layers per block, context dim 128.
    static let tinyUNet: [String: Any] = [
        "sample_size": 32, "in_channels": 4, "out_channels": 4, "layers_per_block": 2,
        "block_out_channels": [64, 128, 256],
        "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
        "cross_attention_dim": 128, "attention_head_dim": 8, "norm_num_groups": 32,
    ]
    /// PixArt: 4 layers, 4 heads × 32, patch 2, sample 32, captions 128 wide.
    static let pixart: [String: Any] = [
        "sample_size": 32, "patch_size": 2, "in_channels": 4, "out_channels": 8, "num_layers": 4,
        "num_attention_heads": 4, "attention_head_dim": 32, "cross_attention_dim": 128, "caption_channels": 128,
        "use_additional_conditions": false,
    ]
    /// Stable Diffusion 1.5's text encoder (CLIP ViT-L/14 text tower).
    static let clipL: [String: Any] = [
        "vocab_size": 49408, "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
        "num_attention_heads": 12, "max_position_embeddings": 77, "hidden_act": "quick_gelu", "eos_token_id": 2,
    ]
    /// Stable Diffusion 1.5's UNet: diffusers' defaults with cross_attention_dim 768.
    static let sd15: [String: Any] = ["cross_attention_dim": 768]

    /// Text context length used with every denoiser.
    static let contextLength = 77
}

func modelWorkloads(seconds: Double, generator g: RandomGenerator, run: (String, () throws -> Row) throws -> Void) throws {
    func unet(_ values: [String: Any]) throws -> UNet2DConditionModel {
        let m = try UNet2DConditionModel(config: ModelConfig(architecture: "UNet2DConditionModel", values: values))
        m.eval()
        return m
    }
    func inputs(_ batch: Int, channels: Int, size: Int, context: Int) throws -> (Tensor, Tensor, Tensor) {
        (try Tensor.randn([batch, channels, size, size], generator: g),
         try Tensor(Array(repeating: 500, count: batch), shape: [batch]),
         try Tensor.randn([batch, BenchModels.contextLength, context], generator: g))
    }
    let tiny = try unet(BenchModels.tinyUNet)
    for batch in [1, 8] {
        try run("unet_tiny_fwd_b\(batch)") {
            let (x, t, c) = try inputs(batch, channels: 4, size: 32, context: 128)
            let ms = try measure(seconds: seconds) { _ = try noGrad { try tiny(x, timestep: t, context: c) } }
            return Row(name: "unet_tiny_fwd_b\(batch)", medianMs: ms)
        }
    }
    try run("unet_tiny_fwd_bwd_b8") {
        let (x, t, c) = try inputs(8, channels: 4, size: 32, context: 128)
        let params = tiny.namedParameters().map(\.tensor)
        let ms = try measure(seconds: seconds) {
            for p in params { p.zeroGrad() }
            try tiny(x, timestep: t, context: c).square().mean().backward()
        }
        return Row(name: "unet_tiny_fwd_bwd_b8", medianMs: ms)
    }
    let pixart = try PixArtTransformer2DModel(config: ModelConfig(architecture: "PixArtTransformer2DModel", values: BenchModels.pixart))
    pixart.eval()
    try run("pixart_fwd_b8") {
        let (x, t, c) = try inputs(8, channels: 4, size: 32, context: 128)
        let ms = try measure(seconds: seconds) { _ = try noGrad { try pixart(x, timestep: t, context: c) } }
        return Row(name: "pixart_fwd_b8", medianMs: ms)
    }
    try run("pixart_fwd_bwd_b8") {
        let (x, t, c) = try inputs(8, channels: 4, size: 32, context: 128)
        let params = pixart.namedParameters().map(\.tensor)
        let ms = try measure(seconds: seconds) {
            for p in params { p.zeroGrad() }
            try pixart(x, timestep: t, context: c).square().mean().backward()
        }
        return Row(name: "pixart_fwd_bwd_b8", medianMs: ms)
    }
    try run("clip_text_b8") {
        let clip = try CLIPTextModel(config: ModelConfig(architecture: "CLIPTextModel", values: BenchModels.clipL))
        clip.eval()
        let ids = try Tensor((0..<(8 * 77)).map { Float(($0 * 7919) % 49000 + 1) }, shape: [8, 77])
        let ms = try measure(seconds: seconds) { _ = try noGrad { try clip(ids) } }
        return Row(name: "clip_text_b8", medianMs: ms)
    }
    try run("sd15_unet_fwd_64") {
        let sd = try unet(BenchModels.sd15)
        let (x, t, c) = try inputs(1, channels: 4, size: 64, context: 768)
        let ms = try measure(seconds: 0, minimumRuns: 2) { _ = try noGrad { try sd(x, timestep: t, context: c) } }
        var row = Row(name: "sd15_unet_fwd_64", medianMs: ms)
        row.peakMiB = peakResidentMiB()
        return row
    }
}
