import Diffusion
import Engine
import Models

/// Classifier-free guidance (eq. 4) with a timestep and a κ per sample, as VSD needs:
/// ε̂ = (1 − κ) ε(x_t, t, ∅) + κ ε(x_t, t, y), both branches in one batch of 2B.
/// `unconditional` is the empty prompt's (or a negative prompt's, eq. 5) context.
public func guidedEpsilon(_ network: any Module & NoisePredictor, _ x: Tensor, t: [Int], context: Tensor,
                          unconditional: Tensor, kappa: [Float]) throws -> Tensor {
    let b = x.shape[0]
    guard t.count == b, kappa.count == b, context.shape[0] == b, unconditional.shape == context.shape else {
        throw DistillError.invalidArgument(name: "guidedEpsilon", reason: "needs B timesteps, B κ and two [B, L, D] contexts for a batch of \(b)")
    }
    if kappa.allSatisfy({ $0 == 1 }) {
        return try network.prediction(x, timestep: Tensor(t.map(Float.init), shape: [b]), context: context)
    }
    let timesteps = try Tensor((t + t).map(Float.init), shape: [2 * b])
    let both = try network.prediction(Tensor.concat([x, x]), timestep: timesteps, context: Tensor.concat([unconditional, context]))
    let halves = try both.chunk(2)
    let k = try Tensor(kappa, shape: [b, 1, 1, 1])
    return try (1 - k) * halves[0] + k * halves[1]
}
