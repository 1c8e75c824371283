import Engine

/// What a latent diffusion pipeline needs of its VAE: images in [−1, 1] ↔ the scaled latents its
/// denoiser works on (`AutoencoderKL`, or TAESD's `AutoencoderTiny` for cheap previews and losses).
/// images: [B, inChannels, H, W] ↔ latents: [B, latentChannels, H/f, W/f], f = `downsamplingFactor`.
public protocol LatentAutoencoder: Module {
    var inChannels: Int { get }
    var latentChannels: Int { get }
    /// Pixels per latent position along each side (8 for Stable Diffusion's VAE and TAESD).
    var downsamplingFactor: Int { get }
    /// The latents a pipeline works on, (encode(images) − shift_factor) · scaling_factor.
    func latents(fromImages images: Tensor) throws -> Tensor
    /// The images of pipeline latents, decode(latents / scaling_factor + shift_factor).
    func images(fromLatents latents: Tensor) throws -> Tensor
}

extension LatentAutoencoder {
    /// Checks images for `encode`: [B, inChannels, H, W] with H and W multiples of the factor.
    func checkImages(_ images: Tensor, model: String) throws {
        let f = downsamplingFactor
        guard images.rank == 4, images.shape[1] == inChannels, images.shape[0] >= 1 else {
            throw ModelError.invalidInput(model: model, reason: "images must be [B, \(inChannels), H, W], got \(shapeText(images.shape))")
        }
        guard images.shape[2] >= f, images.shape[3] >= f, images.shape[2] % f == 0, images.shape[3] % f == 0 else {
            throw ModelError.invalidInput(model: model, reason: "image height and width must be multiples of \(f), got \(images.shape[2])×\(images.shape[3])")
        }
    }

    /// Checks latents for `decode`: [B, latentChannels, h, w].
    func checkLatents(_ latents: Tensor, model: String) throws {
        guard latents.rank == 4, latents.shape[1] == latentChannels, latents.shape[0] >= 1, latents.shape[2] >= 1, latents.shape[3] >= 1 else {
            throw ModelError.invalidInput(model: model, reason: "latents must be [B, \(latentChannels), h, w], got \(shapeText(latents.shape))")
        }
    }
}
