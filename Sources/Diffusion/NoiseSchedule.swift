import Engine
import Foundation

/// The discrete variance-preserving noise schedule of a DDPM-trained model: β_t for t = 0..<T and
/// ᾱ_t = ∏_{s≤t} (1 − β_s), with α_t = √ᾱ_t and σ_t = √(1 − ᾱ_t) in x_t = α_t x0 + σ_t ε (eq. 1
/// of the paper). Computed as diffusers' `DDPMScheduler` (and every scheduler that copies it)
/// computes `betas` and `alphas_cumprod`, rounding for rounding, so ᾱ matches PyTorch's float32
/// values: Stable Diffusion's schedule ends at ᾱ_999 ≈ 0.00466.
///
///     let schedule = NoiseSchedule.stableDiffusion
///     let xt = try schedule.addNoise(x0: latents, noise: eps, t: [999, 500])   // eq. 1
public struct NoiseSchedule: Equatable, Sendable {
    /// How β_t runs from start to end (diffusers' `beta_schedule`).
    public enum BetaSchedule: String, CaseIterable, Sendable {
        /// β linear from start to end.
        case linear
        /// √β linear from √start to √end (latent diffusion / Stable Diffusion).
        case scaledLinear = "scaled_linear"
        /// The cosine schedule of Nichol & Dhariwal (GLIDE), β clipped at 0.999; start/end unused.
        case squaredcosCapV2 = "squaredcos_cap_v2"
    }

    public let betaSchedule: BetaSchedule
    /// T, the number of training timesteps; valid timesteps are 0..<T.
    public let trainSteps: Int
    public let betaStart: Double
    public let betaEnd: Double
    /// β_t for t = 0..<T, float32 as diffusers holds them.
    public let betas: [Float]
    /// ᾱ_t for t = 0..<T (diffusers' `alphas_cumprod`).
    public let alphaBars: [Float]

    /// Stable Diffusion 1.x/2.x: scaled_linear β from 0.00085 to 0.012 over T = 1000.
    public static let stableDiffusion = NoiseSchedule(validated: .scaledLinear, trainSteps: 1000, betaStart: 0.00085, betaEnd: 0.012)
    /// PixArt-α: linear β from 0.0001 to 0.02 over T = 1000 (diffusers' defaults).
    public static let pixArtAlpha = NoiseSchedule(validated: .linear, trainSteps: 1000, betaStart: 0.0001, betaEnd: 0.02)

    /// A schedule of `trainSteps` steps; the defaults are diffusers' (linear, 1e-4 … 0.02, T = 1000).
    /// Throws for T < 1 and, for the linear schedules, unless 0 < betaStart ≤ betaEnd < 1.
    public init(_ betaSchedule: BetaSchedule = .linear, trainSteps: Int = 1000,
                betaStart: Double = 0.0001, betaEnd: Double = 0.02) throws {
        guard trainSteps >= 1 else { throw DiffusionError.invalidTrainSteps(trainSteps) }
        if betaSchedule != .squaredcosCapV2 {
            guard betaStart.isFinite, betaEnd.isFinite, betaStart > 0, betaStart <= betaEnd, betaEnd < 1 else {
                throw DiffusionError.invalidBetas(start: betaStart, end: betaEnd)
            }
        }
        self.init(validated: betaSchedule, trainSteps: trainSteps, betaStart: betaStart, betaEnd: betaEnd)
    }

    /// A schedule named as diffusers names it: "linear", "scaled_linear" or "squaredcos_cap_v2".
    public init(name: String, trainSteps: Int = 1000, betaStart: Double = 0.0001, betaEnd: Double = 0.02) throws {
        guard let schedule = BetaSchedule(rawValue: name) else {
            throw DiffusionError.unknownName(kind: "beta schedule", name: name, expected: BetaSchedule.allCases.map(\.rawValue))
        }
        try self.init(schedule, trainSteps: trainSteps, betaStart: betaStart, betaEnd: betaEnd)
    }

    private init(validated betaSchedule: BetaSchedule, trainSteps: Int, betaStart: Double, betaEnd: Double) {
        self.betaSchedule = betaSchedule
        self.trainSteps = trainSteps
        self.betaStart = betaStart
        self.betaEnd = betaEnd
        switch betaSchedule {
        case .linear:
            betas = Self.torchLinspace(Float(betaStart), Float(betaEnd), count: trainSteps)
        case .scaledLinear:
            betas = Self.torchLinspace(Float(Foundation.pow(betaStart, 0.5)), Float(Foundation.pow(betaEnd, 0.5)), count: trainSteps)
                .map { $0 * $0 }
        case .squaredcosCapV2:
            betas = Self.cosineBetas(count: trainSteps)
        }
        // NOTE: torch.cumprod on float32 accumulates in float64 and rounds each partial product.
        var product = 1.0
        alphaBars = betas.map { beta in
            product *= Double(1 - beta)
            return Float(product)
        }
    }

    /// `torch.linspace(start, end, count, dtype=torch.float32)`: float32, filled from both ends
    /// with fused multiply-adds, as PyTorch's CPU kernel compiles.
    static func torchLinspace(_ start: Float, _ end: Float, count: Int) -> [Float] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (end - start) / Float(count - 1)
        let halfway = count / 2
        return (0..<count).map { i in
            i < halfway ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(count - 1 - i))
        }
    }

    /// diffusers' `betas_for_alpha_bar` (cosine): β_i = min(1 − ᾱ(t_{i+1}) / ᾱ(t_i), 0.999) in float64.
    static func cosineBetas(count: Int) -> [Float] {
        func alphaBar(_ t: Double) -> Double { Foundation.pow(Foundation.cos((t + 0.008) / 1.008 * Double.pi / 2), 2) }
        return (0..<count).map { i in
            let t1 = Double(i) / Double(count), t2 = Double(i + 1) / Double(count)
            return Float(Swift.min(1 - alphaBar(t2) / alphaBar(t1), 0.999))
        }
    }

    // MARK: - One timestep

    /// Throws unless 0 ≤ t < T.
    public func checkTimestep(_ t: Int) throws {
        guard t >= 0 && t < trainSteps else { throw DiffusionError.timestepOutOfRange(t, trainSteps: trainSteps) }
    }

    /// ᾱ_t.
    public func alphaBar(_ t: Int) throws -> Float {
        try checkTimestep(t)
        return alphaBars[t]
    }

    /// α_t = √ᾱ_t, the signal scale of eq. 1.
    public func alpha(_ t: Int) throws -> Float { try alphaBar(t).squareRoot() }

    /// σ_t = √(1 − ᾱ_t), the noise scale of eq. 1.
    public func sigma(_ t: Int) throws -> Float { (1 - (try alphaBar(t))).squareRoot() }

    // MARK: - A batch of timesteps

    /// ᾱ_t for each timestep: [B] (or [B, 1, …, 1] with `rank` axes, to broadcast against samples).
    public func alphaBar(_ t: [Int], rank: Int = 1) throws -> Tensor {
        try perSample(t.map(alphaBar), rank: rank)
    }

    /// α_t for each timestep: [B] (or [B, 1, …, 1] with `rank` axes).
    public func alpha(_ t: [Int], rank: Int = 1) throws -> Tensor {
        try perSample(t.map(alpha), rank: rank)
    }

    /// σ_t for each timestep: [B] (or [B, 1, …, 1] with `rank` axes).
    public func sigma(_ t: [Int], rank: Int = 1) throws -> Tensor {
        try perSample(t.map(sigma), rank: rank)
    }

    private func perSample(_ values: [Float], rank: Int) throws -> Tensor {
        guard rank >= 1 else { throw DiffusionError.invalidArgument(name: "rank", reason: "must be at least 1, got \(rank)") }
        return try Tensor(values, shape: [values.count] + Array(repeating: 1, count: rank - 1))
    }
}
