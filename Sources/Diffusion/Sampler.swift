import Engine

/// A multi-step sampler of the reverse process, in one shape for all (as k-diffusion's
/// `sample_*` functions): a noise schedule and prediction type fixed at creation, then
/// `sample(denoiser, noise:, steps:, generator:)`. Each mirrors one diffusers scheduler driven by
/// the loop of diffusers' pipelines (initial noise · init_noise_sigma, then per timestep
/// scale_model_input → network → step), step for step and rounding for rounding.
public protocol Sampler {
    /// The schedule the network was trained with.
    var schedule: NoiseSchedule { get }
    /// What the denoiser returns.
    var predictionType: PredictionType { get }

    /// The model timesteps a run of `steps` steps visits, first to last (diffusers'
    /// `scheduler.timesteps` after `set_timesteps(steps)`). Throws unless 1 ≤ steps ≤ T.
    func timesteps(steps: Int) throws -> [Float]

    /// Runs the reverse process from `noise` (x_T ~ N(0, I), [B, C, H, W]) with one `denoiser`
    /// call per timestep and returns the final sample. `generator` feeds stochastic samplers
    /// (DDIM with η > 0; the shared generator if nil); `onStep` sees every intermediate sample.
    func sample(_ denoiser: Denoiser, noise: Tensor, steps: Int, generator: RandomGenerator?,
                onStep: StepCallback?) throws -> Tensor
}

extension Sampler {
    /// `sample` with the shared generator by default and no step callback.
    public func sample(_ denoiser: Denoiser, noise: Tensor, steps: Int, generator: RandomGenerator? = nil) throws -> Tensor {
        try sample(denoiser, noise: noise, steps: steps, generator: generator, onStep: nil)
    }

    /// Throws unless 1 ≤ steps ≤ T.
    func checkSteps(_ steps: Int) throws {
        guard steps >= 1 && steps <= schedule.trainSteps else {
            throw DiffusionError.invalidStepCount(steps, trainSteps: schedule.trainSteps)
        }
    }

    /// The denoiser's output for `x`, checked to have `x`'s shape.
    func denoise(_ denoiser: Denoiser, _ x: Tensor, _ t: Float) throws -> Tensor {
        let output = try denoiser(x, t)
        guard output.shape == x.shape else {
            throw DiffusionError.shapeMismatch(what: "denoiser", shapes: [output.shape, x.shape],
                                               reason: "the output's shape differs from the sample's")
        }
        return output
    }
}
