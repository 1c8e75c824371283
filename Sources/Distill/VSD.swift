import Diffusion
import Engine
import Foundation
import Models

/// The weighting w(t) of the VSD gradient.
public enum VSDWeighting: String, CaseIterable, Sendable {
    /// w(t) = σ_t² = 1 − ᾱ_t (SwiftBrush, threestudio). The default.
    case sigmaSquared = "sigma2"
    /// w(t) = 1.
    case one
    /// DMD2's normalisation: the x0-space difference (σ_t/α_t)(ε̂_ψ − ε̂_φ) divided, per sample,
    /// by mean |x0 − x̂0_ψ| (x̂0_ψ the frozen teacher's x0 prediction).
    case dmd
}

/// What one VSD evaluation produced (eq. 6/7).
public struct VSDTerms {
    /// The stop-gradient surrogate: 0.5 · mean((x0 − sg(x0 − g))²), whose gradient is g · ∂x0/∂θ / N
    /// with N the number of elements of x0 (mean reduction, as SwiftBrush's `F.mse_loss`).
    public let loss: Tensor
    /// g = w(t)(ε̂_ψ − ε̂_φ) with NaN and ±∞ replaced by 0 (nan_to_num), [B, C, H, W].
    public let g: Tensor
    /// Timesteps and guidance scales drawn for the batch.
    public let t: [Int]
    public let kappaFrozen: [Float], kappaLora: [Float]
    /// The noise drawn and x_t = α_t sg(x0) + σ_t ε, [B, C, H, W].
    public let noise: Tensor, xt: Tensor
    /// The two teachers' guided predictions at x_t (no gradient): ε̂_ψ (adapters off), ε̂_φ (on).
    public let epsFrozen: Tensor, epsLora: Tensor
    /// The per-sample factor in front of (ε̂_ψ − ε̂_φ): w(t) for σ² and 1, (σ_t/α_t)/mean|x0 − x̂0_ψ| for dmd.
    public let weight: [Float]
}

/// Variational Score Distillation (eq. 6/7) against one teacher network that is both teachers
/// (SwiftBrush): LoRA adapters off = the frozen teacher ψ, on = the LoRA teacher φ, each with
/// classifier-free guidance at κ drawn from `guidance` (PG-SB: U(0.5, 4) for both).
public struct VSD {
    /// The teacher's network with LoRA adapters attached (base weights frozen).
    public let teacher: any Module & NoisePredictor
    public let schedule: NoiseSchedule
    public var guidance: GuidanceSampling
    /// t is drawn per sample uniformly from the integers in [tMin·T, tMax·T] (default 0.02–0.98).
    public var tRange: (min: Float, max: Float)
    public var weighting: VSDWeighting

    public init(teacher: any Module & NoisePredictor, schedule: NoiseSchedule, guidance: GuidanceSampling,
                tRange: (min: Float, max: Float) = (0.02, 0.98), weighting: VSDWeighting = .sigmaSquared) throws {
        guard tRange.min >= 0, tRange.max <= 1, tRange.min <= tRange.max else {
            throw DistillError.invalidArgument(name: "t range", reason: "needs 0 ≤ min ≤ max ≤ 1, got (\(tRange.min), \(tRange.max))")
        }
        guard !teacher.loraAdapters.isEmpty else {
            throw DistillError.invalidArgument(name: "VSD", reason: "the teacher network has no LoRA adapters (the LoRA teacher); add them with addLoRA")
        }
        self.teacher = teacher
        self.schedule = schedule
        self.guidance = guidance
        self.tRange = tRange
        self.weighting = weighting
    }

    /// The integer timesteps t may take.
    public var timesteps: ClosedRange<Int> {
        let T = Float(schedule.trainSteps)
        let low = Int((tRange.min * T).rounded()), high = Swift.min(schedule.trainSteps - 1, Int((tRange.max * T).rounded()))
        return low...Swift.max(low, high)
    }

    /// w(t) per sample, shaped [B, 1, 1, 1] (not for `.dmd`, which depends on the samples).
    func weights(_ t: [Int]) throws -> Tensor {
        let w = t.map { weighting == .one ? Float(1) : 1 - schedule.alphaBars[$0] }
        return try Tensor(w, shape: [t.count, 1, 1, 1])
    }

    /// The VSD loss of student outputs `x0` [B, C, H, W] for prompts with text states `context`
    /// (and the empty prompt's, `unconditional`): draws t, ε and κ from `generator`, runs both
    /// teachers without gradient at x_t = α_t sg(x0) + σ_t ε, and returns the surrogate whose
    /// gradient is w(t)(ε̂_ψ − ε̂_φ) · ∂x0/∂θ / N.
    ///
    /// With a `share` (data-parallel training), `x0` and the contexts are this rank's rows of the
    /// batch: t, ε and κ are drawn for the whole batch, as one process would, and the rows kept;
    /// the loss is weighted by the rows' share of the batch.
    public func loss(x0: Tensor, context: Tensor, unconditional: Tensor, generator: RandomGenerator,
                     share: BatchShare? = nil) throws -> VSDTerms {
        let b = x0.shape[0], total = share?.total ?? b
        let drawnFrozen: [Float], drawnLora: [Float]
        (drawnFrozen, drawnLora) = try guidance.draw(batch: total, generator)
        let range = timesteps
        let drawnT = (0..<total).map { _ in range.lowerBound + generator.integer(below: range.count) }
        let drawnNoise = try Tensor.randn([total] + Array(x0.shape.dropFirst()), generator: generator)
        let kappaFrozen = share?.mine(drawnFrozen) ?? drawnFrozen, kappaLora = share?.mine(drawnLora) ?? drawnLora
        let t = share?.mine(drawnT) ?? drawnT
        let noise = try share?.mine(drawnNoise) ?? drawnNoise
        guard t.count == b else {
            throw DistillError.invalidArgument(name: "VSD", reason: "x0 has \(b) rows but this rank's share of the batch is \(t.count)")
        }
        let sample = x0.detach()
        let xt = try schedule.addNoise(x0: sample, noise: noise, t: t)
        let (frozen, lora) = try noGrad {
            (try teacher.withLoRA(enabled: false) {
                try guidedEpsilon(teacher, xt, t: t, context: context, unconditional: unconditional, kappa: kappaFrozen)
            },
             try teacher.withLoRA(enabled: true) {
                try guidedEpsilon(teacher, xt, t: t, context: context, unconditional: unconditional, kappa: kappaLora)
            })
        }
        let weight: Tensor = try noGrad {
            switch weighting {
            case .sigmaSquared, .one:
                return try weights(t)
            case .dmd:
                let alpha = try Tensor(t.map { schedule.alphaBars[$0].squareRoot() }, shape: [b, 1, 1, 1])
                let sigma = try Tensor(t.map { (1 - schedule.alphaBars[$0]).squareRoot() }, shape: [b, 1, 1, 1])
                let frozenX0 = try (xt - sigma * frozen) / alpha
                let scale = try (sample - frozenX0).abs().mean(axes: [1, 2, 3], keepDims: true) + 1e-6
                return try sigma / alpha / scale
            }
        }
        let g = try noGrad { try (weight * (frozen - lora)).nanToNum() }
        let target = try (sample - g).detach()
        let loss = try (share?.weighted(Tensor.mse(x0, target)) ?? Tensor.mse(x0, target)) * 0.5
        return VSDTerms(loss: loss, g: g, t: t, kappaFrozen: kappaFrozen, kappaLora: kappaLora, noise: noise, xt: xt,
                        epsFrozen: frozen, epsLora: lora, weight: weight.scalars)
    }
}
