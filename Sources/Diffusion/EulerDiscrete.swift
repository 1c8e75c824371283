import Engine

/// Euler's method on the probability-flow ODE in σ = √((1 − ᾱ)/ᾱ) (Karras et al., "Elucidating
/// the Design Space of Diffusion-Based Generative Models", Algorithm 1 without churn), as
/// diffusers' `EulerDiscreteScheduler` with its defaults ("linspace" spacing, linear σ
/// interpolation, final σ zero). The latent lives at scale √(σ² + 1): the network sees
/// x / √(σ² + 1) (`scale_model_input`), and
///
///     x0 = x − σ ε,   x_next = x + (x − x0)/σ · (σ_next − σ)
///
/// The initial noise is scaled by the largest σ (√(σ_max² + 1) with "leading" spacing).
/// NOTE: with "linspace" the timesteps are fractional for most step counts (7 steps: 999, 832.5,
/// …), and the denoiser receives them as they are, as diffusers hands them to the network.
public struct EulerDiscrete: Sampler {
    public let schedule: NoiseSchedule
    public let predictionType: PredictionType
    /// diffusers' `timestep_spacing` (default "linspace").
    public let spacing: TimestepSpacing
    /// diffusers' `steps_offset`, added to leading timesteps.
    public let stepsOffset: Int

    /// Throws for a negative offset.
    public init(schedule: NoiseSchedule, predictionType: PredictionType = .epsilon, spacing: TimestepSpacing = .linspace,
                stepsOffset: Int = 0) throws {
        guard stepsOffset >= 0 else { throw DiffusionError.invalidArgument(name: "stepsOffset", reason: "must be ≥ 0, got \(stepsOffset)") }
        self.schedule = schedule
        self.predictionType = predictionType
        self.spacing = spacing
        self.stepsOffset = stepsOffset
    }

    public func timesteps(steps: Int) throws -> [Float] {
        try checkSteps(steps)
        let timesteps = spacing.points(count: steps, trainSteps: schedule.trainSteps, offset: stepsOffset).map(Float.init)
        if let bad = timesteps.first(where: { !($0 >= 0 && $0 <= Float(schedule.trainSteps - 1)) }) {
            throw DiffusionError.timestepOutOfRange(Int(bad.rounded(.up)), trainSteps: schedule.trainSteps)
        }
        return timesteps
    }

    /// σ at each timestep of the run, linearly interpolated between training timesteps, then 0
    /// (diffusers' `sigmas`).
    public func sigmas(steps: Int) throws -> [Float] {
        let trainSigmas = schedule.alphaBars.map { ((1 - $0) / $0).squareRoot() }
        return try timesteps(steps: steps).map { Float(NumPy.interp(Double($0), trainSigmas)) } + [0]
    }

    /// The scale of the initial noise (diffusers' `init_noise_sigma`).
    public func initNoiseSigma(steps: Int) throws -> Float {
        let largest = try sigmas(steps: steps).max()!
        return spacing == .leading ? (largest * largest + 1).squareRoot() : largest
    }

    public func sample(_ denoiser: Denoiser, noise: Tensor, steps: Int, generator: RandomGenerator?,
                       onStep: StepCallback?) throws -> Tensor {
        let timesteps = try timesteps(steps: steps)
        let sigmas = try sigmas(steps: steps)
        var x = noise * (try initNoiseSigma(steps: steps))
        for (i, t) in timesteps.enumerated() {
            let sigma = sigmas[i]
            let scale = sigma * sigma + 1
            let output = try denoise(denoiser, x / Tensor(scalar: scale.squareRoot()), t)
            let x0: Tensor
            switch predictionType {
            case .epsilon: x0 = try x - output * sigma
            case .sample: x0 = output
            case .vPrediction: x0 = try output * (-sigma / scale.squareRoot()) + x / Tensor(scalar: scale)
            }
            let derivative = try (x - x0) / Tensor(scalar: sigma)
            x = try x + derivative * (sigmas[i + 1] - sigma)
            try onStep?(i, x)
        }
        return x
    }
}
