import Diffusion
import Engine
import Models
import Testing

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
