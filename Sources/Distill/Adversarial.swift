import Diffusion
import Engine
import Foundation
import Models

/// DMD2's adversarial term on real images: beside VSD the student is also trained to fool a
/// discriminator that tells the world's real images from the student's, each with its caption.
/// VSD alone can only reach the teacher's score, errors included; the real images are the one
/// signal that can correct it (DMD2: ImageNet-64 FID 2.61 → 1.51; SiDA likewise). Unlike DMD2,
/// whose classifier sits on the fake-score UNet's bottleneck, the discriminator here is a network
/// of its own (`ProjectionDiscriminator`), so the term is the same for every teacher backbone.
///
/// Each VSD step: the student's loss gains weight · mean(softplus(−D(x0, y))) (the non-saturating
/// generator loss), then the discriminator takes one step on mean(softplus(−D(x_real, y))) +
/// mean(softplus(D(sg(x0), y))) with the real images drawn for the step's own captions.
public struct AdversarialTerm: Sendable {
    /// λ_GAN, the generator loss's weight beside the VSD surrogate (DMD2: 3e-3 on ImageNet, 1e-3
    /// on SD; both against a mean-reduced VSD loss, as ours is).
    public var weight: Float = 1e-3
    /// The discriminator's learning rate (Adam, β = (0, 0.99), no weight decay).
    public var learningRate: Float = 2e-4
    /// Diffusion-GAN noise: real and generated images are both noised to a t drawn per sample from
    /// U{0 … maxNoise·T} before the discriminator reads them (0: clean images). DMD2 shares VSD's t.
    public var maxNoise: Float = 0
    /// Channels of the discriminator's first convolution (then 2× and 4×).
    public var width = 32

    public init(weight: Float = 1e-3, learningRate: Float = 2e-4, maxNoise: Float = 0, width: Int = 32) {
        (self.weight, self.learningRate, self.maxNoise, self.width) = (weight, learningRate, maxNoise, width)
    }

    /// Refuses a weight < 0, a learning rate ≤ 0, a noise level outside [0, 1] or a width < 1.
    public func validate() throws {
        guard weight.isFinite, weight >= 0, learningRate.isFinite, learningRate > 0, maxNoise >= 0, maxNoise <= 1, width >= 1 else {
            throw TrainingError.invalidOptions("the adversarial term needs a weight ≥ 0, a learning rate > 0, a noise level in [0, 1] and a width ≥ 1, got weight \(weight), lr \(learningRate), noise \(maxNoise), width \(width)")
        }
    }
}

/// A small conditional discriminator for side×side images: three convolutions (3×3, then two
/// 4×4 of stride 2), SiLU between them, a global mean, and a projection onto the caption
/// (Miyato & Koyama 2018): logit = w·h + ⟨h, E·c⟩, with h the pooled features and c the mean of
/// the caption's text states.
///
/// x: [B, 3, S, S] (S a multiple of 4), text: [B, contextWidth] → logits [B].
public final class ProjectionDiscriminator: Module {
    public let width: Int, contextWidth: Int
    let conv1: Conv2d, conv2: Conv2d, conv3: Conv2d
    let head: Linear, embed: Linear

    public init(width: Int, contextWidth: Int) {
        (self.width, self.contextWidth) = (width, contextWidth)
        conv1 = Conv2d(3, width, kernelSize: 3, padding: 1)
        conv2 = Conv2d(width, 2 * width, kernelSize: 4, stride: 2, padding: 1)
        conv3 = Conv2d(2 * width, 4 * width, kernelSize: 4, stride: 2, padding: 1)
        head = Linear(4 * width, 1)
        embed = Linear(contextWidth, 4 * width, bias: false)
        super.init()
        _ = child("conv1", conv1)
        _ = child("conv2", conv2)
        _ = child("conv3", conv3)
        _ = child("head", head)
        _ = child("embed", embed)
    }

    public func callAsFunction(_ x: Tensor, text: Tensor) throws -> Tensor {
        guard x.rank == 4, x.shape[1] == 3, text.rank == 2, text.shape == [x.shape[0], contextWidth] else {
            throw DistillError.invalidArgument(name: "discriminator", reason: "needs images [B, 3, S, S] and text [B, \(contextWidth)], got \(x.shape) and \(text.shape)")
        }
        var h = try conv1(x).silu()
        h = try conv2(h).silu()
        h = try conv3(h).silu()
        let pooled = try h.mean(axes: [2, 3])
        let logit = try head(pooled) + (pooled * embed(text)).sum(axes: [1], keepDims: true)
        return try logit.reshape([x.shape[0]])
    }
}

/// The adversarial term's state inside a distillation run: the discriminator and its optimizer.
final class AdversarialTraining {
    let term: AdversarialTerm
    let discriminator: ProjectionDiscriminator
    let optimizer: AdamW
    let parameters: [(name: String, tensor: Tensor)]

    init(term: AdversarialTerm, contextWidth: Int, seed: UInt64) throws {
        try term.validate()
        self.term = term
        discriminator = try Initialization.withSeed(seed &+ 0xD15C) { ProjectionDiscriminator(width: term.width, contextWidth: contextWidth) }
        parameters = discriminator.namedParameters()
        optimizer = try AdamW(parameters: parameters.map(\.tensor), learningRate: term.learningRate, beta1: 0, beta2: 0.99, weightDecay: 0)
    }

    /// What the discriminator reads: the images, noised to t ~ U{0 … maxNoise·T} when asked.
    func input(_ images: Tensor, schedule: NoiseSchedule, generator: RandomGenerator) throws -> Tensor {
        guard term.maxNoise > 0 else { return images }
        let top = Swift.min(schedule.trainSteps - 1, Int((term.maxNoise * Float(schedule.trainSteps)).rounded()))
        let t = (0..<images.shape[0]).map { _ in generator.integer(below: top + 1) }
        return try schedule.addNoise(x0: images, noise: Tensor.randn(images.shape, generator: generator), t: t)
    }

    /// The generator's loss mean(softplus(−D(x0, y))), with gradient into x0 (the discriminator's
    /// own gradients from it are cleared before its step).
    func generatorLoss(_ x0: Tensor, text: Tensor, schedule: NoiseSchedule, generator: RandomGenerator) throws -> Tensor {
        try (-discriminator(input(x0, schedule: schedule, generator: generator), text: text)).softplus().mean()
    }

    /// One discriminator step on real and generated images of the same captions; its metrics.
    func step(real: Tensor, fake: Tensor, text: Tensor, schedule: NoiseSchedule, generator: RandomGenerator) throws -> [String: Double] {
        optimizer.zeroGrad()
        let realLogits = try discriminator(input(real, schedule: schedule, generator: generator), text: text)
        let fakeLogits = try discriminator(input(fake.detach(), schedule: schedule, generator: generator), text: text)
        let loss = try (-realLogits).softplus().mean() + fakeLogits.softplus().mean()
        try loss.backward()
        let metrics = ["d_loss": Double(try loss.item()), "d_real": Double(try realLogits.mean().item()),
                       "d_fake": Double(try fakeLogits.mean().item())]
        guard metrics.values.allSatisfy(\.isFinite) else { return metrics }
        try optimizer.step()
        return metrics
    }
}
