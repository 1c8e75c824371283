import Engine

/// The latent distribution an `AutoencoderKL` encoder gives (diffusers
/// `DiagonalGaussianDistribution`): N(mean, diag(std²)) per latent element.
/// parameters: [B, 2·C, h, w] → mean, logvar, std: [B, C, h, w].
public struct DiagonalGaussian {
    public let mean: Tensor
    /// log σ², clamped to [−30, 20] as diffusers clamps it.
    public let logvar: Tensor
    /// σ = exp(logvar / 2).
    public let std: Tensor

    /// Splits the encoder's (quant_conv's) output into mean and logvar along the channel axis.
    public init(parameters: Tensor) throws {
        guard parameters.rank == 4, parameters.shape[1] % 2 == 0 else {
            throw ModelError.invalidInput(model: "DiagonalGaussian", reason: "parameters must be [B, 2·C, h, w], got \(shapeText(parameters.shape))")
        }
        let halves = try parameters.chunk(2, axis: 1)
        mean = halves[0]
        logvar = try halves[1].clamp(min: -30, max: 20)
        std = (logvar * 0.5).exp()
    }

    /// The most likely latent (diffusers `mode()`): the mean.
    public var mode: Tensor { mean }

    /// A draw mean + std · ε with ε ~ N(0, I) from `generator` (reparameterised: gradients reach
    /// mean and std). Snoopi's generator is not torch's: the same seed gives other numbers.
    public func sample(generator: RandomGenerator) throws -> Tensor {
        try mean + std * Tensor.randn(mean.shape, generator: generator)
    }
}
