import Engine
import Models
import Testing

/// Whole-model gradients against central finite differences: the engine's ops are each checked
/// (EngineTests/GradientTests), this checks their composition in the two teacher networks —
/// every op of a training step, the unpatchify permutes and the shared adaLN modulation included —
/// in AutoencoderKL, whose decoder sits inside latent-space losses, and in T5's encoder, whose
/// relative position bias reaches the scores through the attention mask. (TAESD's ReLUs put kinks
/// within any useful Float32 step: its parameter gradients are checked against torch instead,
/// in VAEParityTests.)
@Suite("Model gradients")
struct ModelGradientTests {
    /// A few coordinates of every parameter tensor: autograd's ∂L/∂θ against
    /// (L(θ + h) − L(θ − h)) / 2h for L = mean(ε̂ · R), in Float32.
    func check(_ model: Module, _ loss: () throws -> Tensor, coordinates: Int = 2) throws {
        let parameters = model.namedParameters()
        for (_, p) in parameters { p.requiresGrad = true; p.grad = nil }
        try loss().backward()
        let h: Float = 1e-2
        var checked = 0, worst: (String, Float) = ("", 0)
        let generator = RandomGenerator(seed: 9)
        for (name, p) in parameters {
            let grad = try #require(p.grad, "\(name) has no gradient")
            for _ in 0..<coordinates {
                let i = generator.integer(below: p.count)
                let original = p.scalars[i]
                p.withMutableBuffer { $0[i] = original + h }
                let up = try noGrad { try loss().item() }
                p.withMutableBuffer { $0[i] = original - h }
                let down = try noGrad { try loss().item() }
                p.withMutableBuffer { $0[i] = original }
                let numeric = (up - down) / (2 * h), analytic = grad.scalars[i]
                let error = abs(numeric - analytic) / max(abs(numeric), abs(analytic), 1e-3)
                if error > worst.1 { worst = ("\(name)[\(i)]: autograd \(analytic), finite difference \(numeric)", error) }
                checked += 1
            }
        }
        #expect(checked >= 2 * parameters.count)
        #expect(worst.1 < 0.05, "worst relative error \(worst.1) at \(worst.0)")
    }

    @Test("PixArt's gradients match finite differences in every parameter tensor")
    func pixart() throws {
        let model = try PixArtTransformer2DModel(config: ModelConfig(architecture: PixArtTransformer2DModel.architecture, values: [
            "sample_size": 4, "patch_size": 2, "in_channels": 3, "out_channels": 3, "num_layers": 2,
            "num_attention_heads": 2, "attention_head_dim": 4, "cross_attention_dim": 8,
            "caption_channels": 6, "use_additional_conditions": false, "norm_type": "ada_norm_single",
        ]), seed: 3)
        let x = try Tensor.randn([2, 3, 4, 4], seed: 1), context = try Tensor.randn([2, 3, 6], seed: 2)
        let r = try Tensor.randn([2, 3, 4, 4], seed: 4), t = try Tensor([100, 700], shape: [2])
        try check(model) { try (model(x, timestep: t, context: context) * r).mean() }
    }

    /// images → a posterior draw with a fixed ε → pipeline latents → images: every parameter of
    /// the encoder, both quant convs and the decoder, the mid-block attention included.
    @Test("AutoencoderKL's gradients match finite differences in every parameter tensor")
    func autoencoderKL() throws {
        let model = try AutoencoderKL(config: ModelConfig(architecture: AutoencoderKL.architecture, values: [
            "block_out_channels": [4, 8], "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
            "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"], "layers_per_block": 1, "norm_num_groups": 2,
            "latent_channels": 2, "scaling_factor": 0.5, "shift_factor": 0.1,
        ]), seed: 3)
        let x = try Tensor.randn([2, 3, 8, 8], seed: 1), r = try Tensor.randn([2, 3, 8, 8], seed: 4)
        try check(model) {
            let z = try model.latents(fromImages: x, generator: RandomGenerator(seed: 5))
            return try (model.images(fromLatents: z) * r).mean()
        }
    }

    /// Gated-GELU only: with "relu", a step of h moves some pre-activations across the kink and
    /// central differences average two slopes (ReLU's own gradient is checked in EngineTests).
    @Test("T5's gradients match finite differences in every parameter tensor")
    func t5() throws {
        let model = try T5EncoderModel(config: ModelConfig(architecture: T5EncoderModel.architecture, values: [
            "vocab_size": 12, "d_model": 8, "d_kv": 4, "d_ff": 12, "num_layers": 2, "num_heads": 2,
            "relative_attention_num_buckets": 8, "relative_attention_max_distance": 6, "feed_forward_proj": "gated-gelu",
        ]), seed: 3)
        // Two rows, the second padded: the padding mask and the relative bias both reach the scores.
        let ids = try Tensor([1, 5, 7, 3, 11, 0, 2, 9, 4, 6, 8, 10, 0, 0], shape: [2, 7])
        let mask = try Tensor([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], shape: [2, 7])
        let r = try Tensor.randn([2, 7, 8], seed: 4)
        try check(model) { try (model(ids, attentionMask: mask) * r).mean() }
    }

    @Test("the UNet's gradients match finite differences in every parameter tensor")
    func unet() throws {
        let model = try tinyUNet(seed: 3)
        let x = try Tensor.randn([2, 4, 8, 8], seed: 1), context = try Tensor.randn([2, 3, 12], seed: 2)
        let r = try Tensor.randn([2, 4, 8, 8], seed: 4), t = try Tensor([100, 700], shape: [2])
        try check(model) { try (model(x, timestep: t, context: context) * r).mean() }
    }
}
