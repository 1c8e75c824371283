import Checkpoints
import Engine
import Foundation
import Models
import Testing

/// PixArt's `encoder_attention_mask` beyond the parity fixture (pixart/inputs_masked.h5, in
/// ParityTests): what a mask must and must not change.
@Suite("PixArt cross-attention with a text mask")
struct PixArtMaskTests {
    func model() throws -> PixArtTransformer2DModel {
        guard case .pixart(let pixart) = try LoadedModel.load(ModelFolder(path: try fixtureFolder("pixart")).checkpoint()) else {
            throw ModelError.wrongArchitecture(expected: PixArtTransformer2DModel.architecture, found: "another model")
        }
        pixart.eval()
        return pixart
    }

    func inputs() throws -> (sample: Tensor, timestep: Tensor, context: Tensor, mask: Tensor) {
        let file = try HDF5File(path: try fixtureFolder("pixart") + "/inputs_masked.h5")
        return (try file.readTensor("sample"), try file.readTensor("timestep"), try file.readTensor("encoder_hidden_states"),
                try file.readTensor("encoder_attention_mask"))
    }

    @Test func maskedTokensChangeNothingAndAMaskOfOnesIsNoMask() throws {
        let pixart = try model(), (x, t, context, mask) = try inputs()
        try noGrad {
            let masked = try pixart(x, timestep: t, context: context, contextMask: mask)
            // Masked tokens replaced by large noise: exp(−10000 + …) is exactly 0 in Float.
            let noise = try Tensor.randn(context.shape, generator: RandomGenerator(seed: 3)) * 5
            let keep = try mask.unsqueeze(2)
            let scrambled = try context * keep + noise * (1 - keep)
            let again = try pixart(x, timestep: t, context: scrambled, contextMask: mask)
            #expect(errors(again, masked).absolute == 0, "masked caption tokens still act")
            let plain = try pixart(x, timestep: t, context: context)
            #expect(errors(masked, plain).relative > 1e-3, "the mask must matter")
            let ones = try pixart(x, timestep: t, context: context, contextMask: Tensor.ones(mask.shape))
            #expect(errors(ones, plain).absolute == 0, "a mask of ones must be no mask")
        }
    }

    @Test func nasaReadsTheNegativeContextsOwnMask() throws {
        let pixart = try model(), (x, t, context, mask) = try inputs()
        try pixart.enableNASA(alpha: 0.5)
        defer { _ = try? pixart.disableNASA() }
        try noGrad {
            // A negative context of 2 tokens, and the same padded to 5 with junk that its mask hides.
            let short = try Tensor.randn([2, 2, context.shape[2]], generator: RandomGenerator(seed: 4))
            let padded = try Tensor.concat([short, Tensor.randn([2, 3, context.shape[2]], generator: RandomGenerator(seed: 5)) * 4], axis: 1)
            let negativeMask = try Tensor([1, 1, 0, 0, 0, 1, 1, 0, 0, 0], shape: [2, 5])
            let a = try pixart(x, timestep: t, context: context, contextMask: mask, negativeContext: short)
            let b = try pixart(x, timestep: t, context: context, contextMask: mask, negativeContext: padded, negativeContextMask: negativeMask)
            #expect(errors(a, b).relative <= 1e-6, "\(errors(a, b))")
            let unmasked = try pixart(x, timestep: t, context: context, contextMask: mask, negativeContext: padded)
            #expect(errors(unmasked, a).relative > 1e-3, "NASA must see the padding when no mask hides it")
        }
    }

    @Test func badMasksAreNamed() throws {
        let pixart = try model(), (x, t, context, mask) = try inputs()
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "no error" } catch { return "\(error)" }
        }
        #expect(message { _ = try pixart(x, timestep: t, context: context, contextMask: Tensor.ones([2, 5])) }
            .contains("context mask must be [2, 6] (one value per text token), got [2,5]"))
        #expect(message { _ = try pixart(x, timestep: t, context: context, contextMask: mask, negativeContextMask: mask) }
            .contains("a negative context mask needs a negative context"))
    }

    @Test func theBiasIsDiffusers() throws {
        let bias = try AttentionCall.keyBias(mask: Tensor([1, 0, 1, 1], shape: [2, 2]))
        #expect(bias.shape == [2, 1, 1, 2] && bias.scalars == [0, -10000, 0, 0])
    }
}
