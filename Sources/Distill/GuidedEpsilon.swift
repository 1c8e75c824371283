import Diffusion
import Engine
import Models

/// Classifier-free guidance (eq. 4) with a timestep and a κ per sample, as VSD needs:
/// ε̂ = (1 − κ) ε(x_t, t, ∅) + κ ε(x_t, t, y). `unconditional` is the empty prompt's (or a
/// negative prompt's, eq. 5) context. Diffusion's `ClassifierFreeGuidance` does the guidance
/// (both branches as one batch of 2B); this only hands the network per-sample timesteps, which a
/// sampler's `Denoiser` (one t for the batch) cannot carry.
public func guidedEpsilon(_ network: any Module & NoisePredictor, _ x: Tensor, t: [Int], context: Tensor,
                          unconditional: Tensor, kappa: [Float]) throws -> Tensor {
    let b = x.shape[0]
    guard t.count == b, kappa.count == b, context.shape[0] == b, unconditional.shape == context.shape else {
        throw DistillError.invalidArgument(name: "guidedEpsilon", reason: "needs B timesteps, B κ and two [B, L, D] contexts for a batch of \(b)")
    }
    let timesteps = t.map(Float.init)
    let model: ConditionalDenoiser = { input, _, context in
        // B rows for one branch, 2B when both branches run as one batch.
        let perSample = Array(repeating: timesteps, count: input.shape[0] / b).flatMap { $0 }
        return try network.prediction(input, timestep: Tensor(perSample, shape: [perSample.count]), context: context)
    }
    let guidance = try ClassifierFreeGuidance(model: model, context: context, unconditionalContext: unconditional,
                                              kappa: Tensor(kappa, shape: [b]))
    return try guidance(x, 0)
}
