import Engine

/// DDIM (Song et al., "Denoising Diffusion Implicit Models", eq. 12 and 16), as diffusers'
/// `DDIMScheduler`: from x_t, predict x0 and ε, then
///
///     x_prev = √ᾱ_prev · x0 + √(1 − ᾱ_prev − s²) · ε + s · z,   s = η √((1 − ᾱ_prev)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_prev)
///
/// with z ~ N(0, I); η = 0 is deterministic DDIM, η = 1 is DDPM. Stable Diffusion's settings:
/// `DDIM(schedule: .stableDiffusion, spacing: .leading, stepsOffset: 1, setAlphaToOne: false)`.
public struct DDIM: Sampler {
    public let schedule: NoiseSchedule
    public let predictionType: PredictionType
    /// diffusers' `timestep_spacing` (default "leading").
    public let spacing: TimestepSpacing
    /// diffusers' `steps_offset`, added to leading timesteps (SD: 1).
    public let stepsOffset: Int
    /// η, the weight of the fresh noise in each step (0: deterministic).
    public let eta: Float
    /// diffusers' `set_alpha_to_one`: the last step's ᾱ_prev is 1, else ᾱ_0.
    public let setAlphaToOne: Bool
    /// diffusers' `clip_sample_range` when `clip_sample` is on: x0 is clamped to ±range; nil: off.
    public let clipSampleRange: Float?

    /// One step's results.
    public struct Step {
        /// x at the previous (less noisy) timestep.
        public let previousSample: Tensor
        /// The predicted x0 (after clipping, if on).
        public let predictedX0: Tensor
    }

    /// Throws for η < 0 or non-finite, a negative offset or a clip range ≤ 0.
    public init(schedule: NoiseSchedule, predictionType: PredictionType = .epsilon, spacing: TimestepSpacing = .leading,
                stepsOffset: Int = 0, eta: Float = 0, setAlphaToOne: Bool = true, clipSampleRange: Float? = nil) throws {
        guard eta.isFinite && eta >= 0 else { throw DiffusionError.invalidArgument(name: "eta", reason: "must be finite and ≥ 0, got \(eta)") }
        guard stepsOffset >= 0 else { throw DiffusionError.invalidArgument(name: "stepsOffset", reason: "must be ≥ 0, got \(stepsOffset)") }
        if let range = clipSampleRange, !(range > 0 && range.isFinite) {
            throw DiffusionError.invalidArgument(name: "clipSampleRange", reason: "must be finite and > 0, got \(range)")
        }
        self.schedule = schedule
        self.predictionType = predictionType
        self.spacing = spacing
        self.stepsOffset = stepsOffset
        self.eta = eta
        self.setAlphaToOne = setAlphaToOne
        self.clipSampleRange = clipSampleRange
    }

    /// The integer timesteps of a `steps`-step run, first to last (diffusers `set_timesteps`).
    public func integerTimesteps(steps: Int) throws -> [Int] {
        try checkSteps(steps)
        let timesteps = spacing.points(count: steps, trainSteps: schedule.trainSteps, offset: stepsOffset)
            .map { Int(NumPy.round($0)) }
        for t in timesteps { try schedule.checkTimestep(t) }
        return timesteps
    }

    public func timesteps(steps: Int) throws -> [Float] {
        try integerTimesteps(steps: steps).map(Float.init)
    }

    /// One DDIM step from `sample` (x_t) at `timestep`, in a run of `steps` steps, given the
    /// network's `modelOutput`. With η > 0 the fresh noise is `noise` if given (diffusers'
    /// `variance_noise`), else drawn from `generator` (the shared one if nil).
    /// NOTE: the previous timestep is t − T/steps for every spacing, as in diffusers, so with
    /// "linspace" it need not be the next timestep of the run.
    public func step(modelOutput: Tensor, timestep: Int, sample: Tensor, steps: Int,
                     noise: Tensor? = nil, generator: RandomGenerator? = nil) throws -> Step {
        try checkSteps(steps)
        guard modelOutput.shape == sample.shape else {
            throw DiffusionError.shapeMismatch(what: "DDIM.step", shapes: [modelOutput.shape, sample.shape],
                                               reason: "the model output's shape differs from the sample's")
        }
        let alphaBarT = try schedule.alphaBar(timestep)
        let previous = timestep - schedule.trainSteps / steps
        let alphaBarPrevious = previous >= 0 ? try schedule.alphaBar(previous) : (setAlphaToOne ? 1 : schedule.alphaBars[0])
        let betaBarT = 1 - alphaBarT
        let alphaT = Tensor(scalar: alphaBarT.squareRoot()), sigmaT = Tensor(scalar: betaBarT.squareRoot())

        var x0 = try predictionType.x0(from: modelOutput, xt: sample, alphaT: alphaT, sigmaT: sigmaT)
        let epsilon = try predictionType.epsilon(from: modelOutput, xt: sample, alphaT: alphaT, sigmaT: sigmaT)
        if let range = clipSampleRange { x0 = try x0.clamp(min: -range, max: range) }

        // s of eq. 16: η times the standard deviation of the DDPM posterior.
        let variance = ((1 - alphaBarPrevious) / betaBarT) * (1 - alphaBarT / alphaBarPrevious)
        let s = eta * variance.squareRoot()
        let direction = epsilon * (1 - alphaBarPrevious - s * s).squareRoot()
        var previousSample = try x0 * alphaBarPrevious.squareRoot() + direction
        if eta > 0 {
            let z = try noise ?? Tensor.randn(sample.shape, generator: generator)
            guard z.shape == sample.shape else {
                throw DiffusionError.shapeMismatch(what: "DDIM.step", shapes: [z.shape, sample.shape],
                                                   reason: "the noise's shape differs from the sample's")
            }
            previousSample = try previousSample + z * s
        }
        return Step(previousSample: previousSample, predictedX0: x0)
    }

    public func sample(_ denoiser: Denoiser, noise: Tensor, steps: Int, generator: RandomGenerator?,
                       onStep: StepCallback?) throws -> Tensor {
        var x = noise  // DDIM's init_noise_sigma is 1
        for (i, t) in try integerTimesteps(steps: steps).enumerated() {
            let output = try denoise(denoiser, x, Float(t))
            x = try step(modelOutput: output, timestep: t, sample: x, steps: steps, generator: generator).previousSample
            try onStep?(i, x)
        }
        return x
    }
}
