import Diffusion
import Engine
import Models
import Testing

/// A tiny UNet (as ModelsTests' `unet_linear` fixture): 4 latent channels, context width 12.
func tinyUNet(seed: UInt64 = 0) throws -> UNet2DConditionModel {
    try UNet2DConditionModel(config: ModelConfig(architecture: "UNet2DConditionModel", values: [
        "sample_size": 8, "in_channels": 4, "out_channels": 4, "layers_per_block": 1,
        "block_out_channels": [16, 32], "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"], "cross_attention_dim": 12,
        "attention_head_dim": 4, "norm_num_groups": 8, "use_linear_projection": true,
    ]), seed: seed)
}

/// A tiny PixArt-α with learned sigma: 4 latent channels in, 8 out; captions of width 12.
func tinyPixArt() throws -> PixArtTransformer2DModel {
    try PixArtTransformer2DModel(config: ModelConfig(architecture: "PixArtTransformer2DModel", values: [
        "sample_size": 8, "patch_size": 2, "in_channels": 4, "out_channels": 8, "num_layers": 1,
        "num_attention_heads": 2, "attention_head_dim": 8, "cross_attention_dim": 16, "caption_channels": 12,
        "use_additional_conditions": false,
    ]))
}

@Suite("Sampling latents from UNet and PixArt")
struct SamplingTests {
    @Test("sampleLatents with a UNet runs the guided sampler from seeded noise")
    func unetSampling() throws {
        let unet = try tinyUNet()
        let context = randn([2, 3, 12], seed: 31), empty = randn([2, 3, 12], seed: 32)
        let sampler = try DDIM(schedule: .stableDiffusion, stepsOffset: 1)
        var steps = 0
        let latents = try sampleLatents(model: unet, sampler: sampler, steps: 3, kappa: 4.5, context: context,
                                        unconditionalContext: empty, shape: [2, 4, 8, 8],
                                        generator: RandomGenerator(seed: 5)) { _, _ in steps += 1 }
        #expect(latents.shape == [2, 4, 8, 8] && steps == 3 && !latents.tracksGrad)
        #expect(latents.scalars.allSatisfy { $0.isFinite })

        // The same run by hand: seeded noise, then the sampler on the guided UNet.
        let network: ConditionalDenoiser = { x, t, c in try unet(x, timestep: Tensor.full([x.shape[0]], t), context: c) }
        let guided = try ClassifierFreeGuidance(model: network, context: context, unconditionalContext: empty, kappa: 4.5)
        let generator = RandomGenerator(seed: 5)
        let byHand = try sampler.sample(guided.denoiser, noise: Tensor.randn([2, 4, 8, 8], generator: generator), steps: 3, generator: generator)
        #expect(latents.scalars == byHand.scalars)
    }

    @Test("PixArt's learned-sigma channels are dropped: ε is the first in_channels")
    func pixArtSampling() throws {
        let pixart = try tinyPixArt()
        let x = randn([1, 4, 8, 8], seed: 41), context = randn([1, 5, 12], seed: 42), t = Tensor([500])
        let full = try pixart(x, timestep: t, context: context)
        #expect(full.shape == [1, 8, 8, 8])
        #expect(try pixart.prediction(x, timestep: t, context: context).scalars == full.slice(axis: 1, end: 4).scalars)
        let latents = try sampleLatents(model: pixart, sampler: DPMSolverMultistep(schedule: .pixArtAlpha), steps: 2, kappa: 1,
                                        context: context, unconditionalContext: nil, shape: [1, 4, 8, 8], generator: RandomGenerator(seed: 1))
        #expect(latents.shape == [1, 4, 8, 8] && latents.scalars.allSatisfy { $0.isFinite })
    }

    @Test("Latent shapes that do not fit the model are errors")
    func badShape() throws {
        let unet = try tinyUNet()
        expectError(.shapeMismatch(what: "sampleLatents", shapes: [[1, 3, 8, 8]], reason: "latents must be [B, 4, H, W] with every size > 0")) {
            _ = try sampleLatents(model: unet, sampler: EulerDiscrete(schedule: .stableDiffusion), steps: 2, kappa: 1,
                                  context: randn([1, 3, 12], seed: 1), unconditionalContext: nil, shape: [1, 3, 8, 8],
                                  generator: RandomGenerator(seed: 0))
        }
    }
}
