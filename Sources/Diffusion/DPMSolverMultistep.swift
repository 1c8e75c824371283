import Engine
import Foundation

/// DPM-Solver++(2M) (Lu et al., "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion
/// Probabilistic Models", multistep second order, midpoint), as diffusers'
/// `DPMSolverMultistepScheduler` with its defaults: algorithm "dpmsolver++", solver order 2,
/// solver type "midpoint", "linspace" spacing, final σ zero, no Karras σ. It integrates the
/// data prediction x0 in λ = log(α/σ): with h = λ_next − λ_now and the last two x0 predictions,
///
///     x_next = (σ_next/σ_now) x − α_next (e^{−h} − 1) (D0 + ½ D1),   D0 = x0_now, D1 = (x0_now − x0_prev) / r
///
/// with r = h_prev / h. The first step and the last (to σ = 0) are first order, as in diffusers
/// (lower_order_final). PixArt-α and many SD pipelines default to this sampler.
public struct DPMSolverMultistep: Sampler {
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

    /// The integer timesteps of a `steps`-step run, first to last (diffusers `set_timesteps`:
    /// linspace and leading space steps + 1 points and drop the last).
    public func integerTimesteps(steps: Int) throws -> [Int] {
        try checkSteps(steps)
        let points = spacing == .trailing
            ? spacing.points(count: steps, trainSteps: schedule.trainSteps, offset: stepsOffset)
            : Array(spacing.points(count: steps + 1, trainSteps: schedule.trainSteps, offset: stepsOffset).dropLast())
        let timesteps = points.map { Int(NumPy.round($0)) }
        for t in timesteps { try schedule.checkTimestep(t) }
        return timesteps
    }

    public func timesteps(steps: Int) throws -> [Float] {
        try integerTimesteps(steps: steps).map(Float.init)
    }

    /// σ = √((1 − ᾱ_t)/ᾱ_t) at each timestep of the run, then 0 (diffusers' `sigmas`).
    public func sigmas(steps: Int) throws -> [Float] {
        try integerTimesteps(steps: steps).map { t in
            let alphaBar = schedule.alphaBars[t]
            return ((1 - alphaBar) / alphaBar).squareRoot()
        } + [0]
    }

    public func sample(_ denoiser: Denoiser, noise: Tensor, steps: Int, generator: RandomGenerator?,
                       onStep: StepCallback?) throws -> Tensor {
        let timesteps = try integerTimesteps(steps: steps)
        let sigmas = try sigmas(steps: steps)
        var x = noise  // init_noise_sigma is 1
        var previousX0: Tensor?
        for (i, t) in timesteps.enumerated() {
            let output = try denoise(denoiser, x, Float(t))
            let now = Point(sigma: sigmas[i]), next = Point(sigma: sigmas[i + 1])
            let x0 = try predictionType.x0(from: output, xt: x, alphaT: Tensor(scalar: now.alphaT), sigmaT: Tensor(scalar: now.sigmaT))
            let h = next.lambda - now.lambda
            let c = next.alphaT * (Foundation.exp(-h) - 1)
            if let previousX0, i < timesteps.count - 1 {
                // Second order (midpoint): D1 from the last two x0 predictions.
                let before = Point(sigma: sigmas[i - 1])
                let r = (now.lambda - before.lambda) / h
                let d1 = try (x0 - previousX0) * (1 / r)
                x = try x * (next.sigmaT / now.sigmaT) - x0 * c - d1 * (0.5 * c)
            } else {
                // First order: DPM-Solver++(1), which is DDIM.
                x = try x * (next.sigmaT / now.sigmaT) - x0 * c
            }
            previousX0 = x0
            try onStep?(i, x)
        }
        return x
    }

    /// α_t, σ_t and λ_t = log α_t − log σ_t of a σ = σ_t/α_t (diffusers `_sigma_to_alpha_sigma_t`).
    /// σ = 0 gives α = 1, σ_t = 0, λ = +∞, so the last step lands on x0.
    private struct Point {
        let alphaT: Float, sigmaT: Float, lambda: Float
        init(sigma: Float) {
            alphaT = 1 / (sigma * sigma + 1).squareRoot()
            sigmaT = sigma * alphaT
            lambda = Foundation.log(alphaT) - Foundation.log(sigmaT)
        }
    }
}
