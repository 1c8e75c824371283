import Engine

// The forward process (eq. 1) and the conversions between what a network may predict. Each is
// built from engine ops, so gradients flow through x0, ε, v and x_t (α_t, σ_t are constants).
// Timesteps `t` hold one entry per sample of the batch (the first axis), or one for all.
extension NoiseSchedule {
    /// x_t = α_t x0 + σ_t ε (eq. 1; diffusers `add_noise`). x0, noise: [B, …], t: B or 1 timesteps.
    public func addNoise(x0: Tensor, noise: Tensor, t: [Int]) throws -> Tensor {
        let (alphaT, sigmaT) = try scales(t, for: x0, "addNoise")
        return try alphaT * x0 + sigmaT * noise
    }

    /// x0 = (x_t − σ_t ε) / α_t.
    public func x0(fromEpsilon epsilon: Tensor, xt: Tensor, t: [Int]) throws -> Tensor {
        try x0(from: epsilon, type: .epsilon, xt: xt, t: t)
    }

    /// ε = (x_t − α_t x0) / σ_t.
    public func epsilon(fromX0 x0: Tensor, xt: Tensor, t: [Int]) throws -> Tensor {
        try epsilon(from: x0, type: .sample, xt: xt, t: t)
    }

    /// x0 = α_t x_t − σ_t v.
    public func x0(fromV v: Tensor, xt: Tensor, t: [Int]) throws -> Tensor {
        try x0(from: v, type: .vPrediction, xt: xt, t: t)
    }

    /// ε = α_t v + σ_t x_t.
    public func epsilon(fromV v: Tensor, xt: Tensor, t: [Int]) throws -> Tensor {
        try epsilon(from: v, type: .vPrediction, xt: xt, t: t)
    }

    /// v = α_t ε − σ_t x0 (diffusers `get_velocity`), the target of a v-prediction model.
    public func v(x0: Tensor, epsilon: Tensor, t: [Int]) throws -> Tensor {
        let (alphaT, sigmaT) = try scales(t, for: x0, "v")
        return try alphaT * epsilon - sigmaT * x0
    }

    /// The x0 that a network's `output` of prediction `type` implies for `xt` at timesteps `t`.
    public func x0(from output: Tensor, type: PredictionType, xt: Tensor, t: [Int]) throws -> Tensor {
        let (alphaT, sigmaT) = try scales(t, for: xt, "x0")
        return try type.x0(from: output, xt: xt, alphaT: alphaT, sigmaT: sigmaT)
    }

    /// The ε that a network's `output` of prediction `type` implies for `xt` at timesteps `t`.
    public func epsilon(from output: Tensor, type: PredictionType, xt: Tensor, t: [Int]) throws -> Tensor {
        let (alphaT, sigmaT) = try scales(t, for: xt, "epsilon")
        return try type.epsilon(from: output, xt: xt, alphaT: alphaT, sigmaT: sigmaT)
    }

    /// α_t and σ_t as [B, 1, …, 1] tensors that broadcast against `x`.
    private func scales(_ t: [Int], for x: Tensor, _ what: String) throws -> (Tensor, Tensor) {
        guard x.rank >= 1, t.count == 1 || t.count == x.shape[0] else {
            throw DiffusionError.shapeMismatch(what: what, shapes: [[t.count], x.shape],
                                               reason: "need one timestep per sample or one for all, got \(t.count)")
        }
        return (try alpha(t, rank: x.rank), try sigma(t, rank: x.rank))
    }
}
