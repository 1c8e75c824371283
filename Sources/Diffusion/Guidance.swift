import Engine

/// Classifier-free guidance as a denoiser (eq. 4 of the paper):
///
///     ε̂(x_t, t, y, κ) = (1 − κ) ε(x_t, t, ∅) + κ ε(x_t, t, y)
///
/// where the unconditional branch ∅ is the empty prompt's context or, for a negative prompt y⁻,
/// the negative prompt's context (eq. 5). Model-agnostic: it wraps any `ConditionalDenoiser`.
///
/// - κ = 1 is the conditional output alone (the unconditional branch is not run), κ = 0 the
///   unconditional alone; κ in (0, 1) interpolates; κ > 1 extrapolates away from ∅ / y⁻ (the
///   paper's teachers use 0.5–5). Negative κ is allowed (it extrapolates the other way); NaN and
///   infinity are rejected.
/// - κ is shared by the batch or drawn per sample (PG-SB samples κ ~ U(κmin, κmax) per sample).
/// - Both branches run as one batch of 2B ([∅; y], as diffusers orders them) when the two contexts
///   have the same shape, else as two calls.
///
///     let guided = try ClassifierFreeGuidance(model: unet, context: y, unconditionalContext: empty, kappa: 4.5)
///     let x0 = try sampler.sample(guided.denoiser, noise: z, steps: 25)
public struct ClassifierFreeGuidance {
    /// ε(x, t, context).
    public let model: ConditionalDenoiser
    /// The prompt's context y: [B, L, D].
    public let context: Tensor
    /// The empty prompt's or the negative prompt's context: [B, L′, D]; nil only when every κ is 1.
    public let unconditionalContext: Tensor?
    /// κ: one value for the whole batch, or one per sample.
    public let kappa: [Float]

    /// Guidance with one κ for every sample.
    public init(model: @escaping ConditionalDenoiser, context: Tensor, unconditionalContext: Tensor?, kappa: Float) throws {
        try self.init(model: model, context: context, unconditionalContext: unconditionalContext, kappas: [kappa])
    }

    /// Guidance with κ per sample: `kappa` holds B values (shape [B], or any shape of B elements).
    public init(model: @escaping ConditionalDenoiser, context: Tensor, unconditionalContext: Tensor?, kappa: Tensor) throws {
        guard kappa.count == context.shape.first else {
            throw DiffusionError.shapeMismatch(what: "ClassifierFreeGuidance", shapes: [kappa.shape, context.shape],
                                               reason: "κ per sample needs one value per context")
        }
        try self.init(model: model, context: context, unconditionalContext: unconditionalContext, kappas: kappa.scalars)
    }

    private init(model: @escaping ConditionalDenoiser, context: Tensor, unconditionalContext: Tensor?, kappas: [Float]) throws {
        if let bad = kappas.first(where: { !$0.isFinite }) { throw DiffusionError.invalidGuidanceScale(bad) }
        guard context.rank == 3 else {
            throw DiffusionError.shapeMismatch(what: "ClassifierFreeGuidance", shapes: [context.shape], reason: "the context must be [B, L, D]")
        }
        if let unconditional = unconditionalContext {
            guard unconditional.rank == 3, unconditional.shape[0] == context.shape[0], unconditional.shape[2] == context.shape[2] else {
                throw DiffusionError.shapeMismatch(what: "ClassifierFreeGuidance", shapes: [unconditional.shape, context.shape],
                                                   reason: "the unconditional context must be [B, L′, D] for a context of [B, L, D]")
            }
        } else if kappas.contains(where: { $0 != 1 }) {
            throw DiffusionError.invalidArgument(name: "unconditionalContext",
                                                 reason: "guidance with κ ≠ 1 needs the empty or negative prompt's context")
        }
        self.model = model
        self.context = context
        self.unconditionalContext = unconditionalContext
        self.kappa = kappas
    }

    /// ε̂ for `x` [B, C, H, W] at timestep `t`; B must be the contexts' batch.
    public func callAsFunction(_ x: Tensor, _ t: Float) throws -> Tensor {
        guard x.rank >= 1, x.shape[0] == context.shape[0] else {
            throw DiffusionError.shapeMismatch(what: "ClassifierFreeGuidance", shapes: [x.shape, context.shape],
                                               reason: "the sample's batch differs from the context's")
        }
        if kappa.allSatisfy({ $0 == 1 }) { return try model(x, t, context) }
        let unconditional = unconditionalContext!  // checked in init: κ ≠ 1 needs it
        if kappa.allSatisfy({ $0 == 0 }) { return try model(x, t, unconditional) }

        let unconditionalOutput: Tensor, conditionalOutput: Tensor
        if unconditional.shape == context.shape {
            let both = try model(Tensor.concat([x, x]), t, Tensor.concat([unconditional, context]))
            let halves = try both.chunk(2)
            (unconditionalOutput, conditionalOutput) = (halves[0], halves[1])
        } else {
            unconditionalOutput = try model(x, t, unconditional)
            conditionalOutput = try model(x, t, context)
        }
        let kappaT = kappa.count == 1
            ? Tensor(scalar: kappa[0])
            : try Tensor(kappa, shape: [kappa.count] + Array(repeating: 1, count: conditionalOutput.rank - 1))
        return try (1 - kappaT) * unconditionalOutput + kappaT * conditionalOutput
    }

    /// This guidance as a plain `Denoiser` closure, for a sampler.
    public var denoiser: Denoiser { { x, t in try self(x, t) } }
}
