import Engine
import Models

/// A text-conditioned diffusion network that a sampler can drive: its prediction (ε, x0 or v, as
/// trained) for latents `sample` [B, inChannels, H, W] at `timestep` [B] given `context` [B, L, D].
public protocol NoisePredictor: AnyObject {
    /// Latent channels the network reads and predicts.
    var inChannels: Int { get }
    /// The latent side the network was built for.
    var sampleSize: Int { get }
    /// The width of the text states it attends to.
    var contextWidth: Int { get }
    /// The diffusers config it was built from.
    var config: ModelConfig { get }
    /// The prediction; `negativeContext` [B, L′, D] is handed to every attention processor (NASA
    /// reads it; the standard processor ignores it).
    func prediction(_ sample: Tensor, timestep: Tensor, context: Tensor, negativeContext: Tensor?) throws -> Tensor
}

extension NoisePredictor {
    /// The prediction without a negative context.
    public func prediction(_ sample: Tensor, timestep: Tensor, context: Tensor) throws -> Tensor {
        try prediction(sample, timestep: timestep, context: context, negativeContext: nil)
    }
}

extension UNet2DConditionModel: NoisePredictor {
    public var contextWidth: Int { crossAttentionDim }

    /// The UNet's output as it is.
    public func prediction(_ sample: Tensor, timestep: Tensor, context: Tensor, negativeContext: Tensor?) throws -> Tensor {
        try self(sample, timestep: timestep, context: context, negativeContext: negativeContext)
    }
}

/// A `NoisePredictor` whose cross-attention also reads the text's padding mask: 1 for a token,
/// 0 for padding (PixArt: T5 states padded to 120 tokens, diffusers' `encoder_attention_mask`).
public protocol MaskedNoisePredictor: NoisePredictor {
    /// The prediction with `contextMask` [B, L] for `context` and `negativeContextMask` [B, L′]
    /// for `negativeContext` (nil: every token attended).
    func prediction(_ sample: Tensor, timestep: Tensor, context: Tensor, contextMask: Tensor?,
                    negativeContext: Tensor?, negativeContextMask: Tensor?) throws -> Tensor
}

extension PixArtTransformer2DModel: MaskedNoisePredictor {
    public var contextWidth: Int { contextChannels }

    /// The first `inChannels` output channels. NOTE: PixArt-α predicts 8 channels, ε and a learned
    /// variance (diffusers' learned sigma); the samplers here use ε only, so the variance half is
    /// dropped, as diffusers' PixArtAlphaPipeline does. Models with `use_additional_conditions`
    /// (PixArt-α 1024) need resolution and aspect ratio: call the model yourself for those.
    public func prediction(_ sample: Tensor, timestep: Tensor, context: Tensor, negativeContext: Tensor?) throws -> Tensor {
        try prediction(sample, timestep: timestep, context: context, contextMask: nil, negativeContext: negativeContext, negativeContextMask: nil)
    }

    /// As `prediction(_:timestep:context:negativeContext:)`, with the text's attention masks.
    public func prediction(_ sample: Tensor, timestep: Tensor, context: Tensor, contextMask: Tensor?,
                           negativeContext: Tensor?, negativeContextMask: Tensor?) throws -> Tensor {
        let output = try self(sample, timestep: timestep, context: context, contextMask: contextMask,
                              negativeContext: negativeContext, negativeContextMask: negativeContextMask)
        return outChannels > inChannels ? try output.slice(axis: 1, end: inChannels) : output
    }
}

/// Samples latents [B, C, H, W] (`shape`) from a text-to-image network with classifier-free
/// guidance (eq. 4): x_T ~ N(0, I) from `generator`, then `steps` steps of `sampler` with
/// ε̂ = (1 − κ) ε(x_t, t, ∅ or y⁻) + κ ε(x_t, t, y). `unconditionalContext` is the empty prompt's
/// or a negative prompt's text-encoder states (eq. 5); nil only with κ = 1. The sampler's schedule
/// and prediction type must be the network's. Runs without gradient; decode the result with the
/// model's VAE.
///
///     let sampler = try DPMSolverMultistep(schedule: .stableDiffusion)
///     let latents = try sampleLatents(model: unet, sampler: sampler, steps: 25, kappa: 7.5, context: y,
///                                     unconditionalContext: empty, shape: [1, 4, 64, 64], generator: RandomGenerator(seed: 0))
public func sampleLatents(model: some NoisePredictor, sampler: some Sampler, steps: Int, kappa: Float,
                          context: Tensor, unconditionalContext: Tensor?, shape: [Int],
                          generator: RandomGenerator, onStep: StepCallback? = nil) throws -> Tensor {
    guard shape.count == 4, shape[1] == model.inChannels, shape.allSatisfy({ $0 > 0 }) else {
        throw DiffusionError.shapeMismatch(what: "sampleLatents", shapes: [shape],
                                           reason: "latents must be [B, \(model.inChannels), H, W] with every size > 0")
    }
    let network: ConditionalDenoiser = { x, t, context in
        try model.prediction(x, timestep: Tensor.full([x.shape[0]], t), context: context)
    }
    let guided = try ClassifierFreeGuidance(model: network, context: context, unconditionalContext: unconditionalContext, kappa: kappa)
    return try noGrad {
        let noise = try Tensor.randn(shape, generator: generator)
        return try sampler.sample(guided.denoiser, noise: noise, steps: steps, generator: generator, onStep: onStep)
    }
}
