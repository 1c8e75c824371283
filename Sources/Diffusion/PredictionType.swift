import Engine

/// What a diffusion network predicts from x_t (diffusers' `prediction_type`): the noise ε, the
/// clean sample x0, or the velocity v = α_t ε − σ_t x0 (Imagen Video §2.4; SD 2.1 768 uses v).
public enum PredictionType: String, CaseIterable, Sendable {
    /// ε, the noise of eq. 1 (diffusers "epsilon"): SD 1.5, SD 2.1 base, PixArt-α.
    case epsilon
    /// x0 itself (diffusers "sample").
    case sample
    /// v = α_t ε − σ_t x0 (diffusers "v_prediction").
    case vPrediction = "v_prediction"

    /// The type of a diffusers name: "epsilon", "sample" or "v_prediction".
    public init(name: String) throws {
        guard let type = PredictionType(rawValue: name) else {
            throw DiffusionError.unknownName(kind: "prediction type", name: name,
                                             expected: PredictionType.allCases.map(\.rawValue))
        }
        self = type
    }

    /// The clean sample x0 that a model `output` implies for the noisy `xt` = α_t x0 + σ_t ε (eq. 1).
    /// `alphaT` and `sigmaT` broadcast against `xt` (one element, or [B, 1, 1, 1]).
    /// The formulas and their order of operations are diffusers' DDIMScheduler.step's.
    public func x0(from output: Tensor, xt: Tensor, alphaT: Tensor, sigmaT: Tensor) throws -> Tensor {
        switch self {
        case .epsilon: return try (xt - sigmaT * output) / alphaT
        case .sample: return output
        case .vPrediction: return try alphaT * xt - sigmaT * output
        }
    }

    /// The noise ε that a model `output` implies for the noisy `xt` (see `x0(from:xt:alphaT:sigmaT:)`).
    public func epsilon(from output: Tensor, xt: Tensor, alphaT: Tensor, sigmaT: Tensor) throws -> Tensor {
        switch self {
        case .epsilon: return output
        case .sample: return try (xt - alphaT * output) / sigmaT
        case .vPrediction: return try alphaT * output + sigmaT * xt
        }
    }
}
