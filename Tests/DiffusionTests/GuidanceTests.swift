import Diffusion
import Engine
import Testing

/// A stand-in network whose output depends on x, t and the context, elementwise per sample:
/// 0.5 · x + 0.01 · t + (mean of the sample's context), and that counts its calls and batch sizes.
final class CountingModel {
    var batches: [Int] = []

    func callAsFunction(_ x: Tensor, _ t: Float, _ context: Tensor) throws -> Tensor {
        batches.append(x.shape[0])
        let perSample = try context.mean(axes: [1, 2]).reshape([context.shape[0], 1, 1, 1])
        return try x * 0.5 + 0.01 * t + perSample
    }
}

@Suite("Classifier-free guidance (eq. 4, 5)")
struct GuidanceTests {
    let x = randn([2, 3, 4, 4], seed: 11)
    let context = randn([2, 5, 8], seed: 12)
    let empty = randn([2, 5, 8], seed: 13)
    let negative = randn([2, 7, 8], seed: 14)

    func outputs(_ model: CountingModel, _ context: Tensor) throws -> Tensor { try model(x, 300, context) }

    @Test("κ = 1 is the conditional output alone; κ = 0 the unconditional alone")
    func endpoints() throws {
        let model = CountingModel()
        let conditional = try outputs(model, context), unconditional = try outputs(model, empty)
        model.batches = []
        let one = try ClassifierFreeGuidance(model: model.callAsFunction, context: context, unconditionalContext: empty, kappa: 1)
        #expect(try one(x, 300).scalars == conditional.scalars)
        #expect(model.batches == [2])
        let zero = try ClassifierFreeGuidance(model: model.callAsFunction, context: context, unconditionalContext: empty, kappa: 0)
        #expect(try zero(x, 300).scalars == unconditional.scalars)
        let conditionalOnly = try ClassifierFreeGuidance(model: model.callAsFunction, context: context, unconditionalContext: nil, kappa: 1)
        #expect(try conditionalOnly.denoiser(x, 300).scalars == conditional.scalars)
    }

    @Test("κ = 2 is 2·cond − uncond, in one batch of 2B")
    func extrapolates() throws {
        let model = CountingModel()
        let expected = try outputs(model, context) * 2 - outputs(model, empty)
        model.batches = []
        let guided = try ClassifierFreeGuidance(model: model.callAsFunction, context: context, unconditionalContext: empty, kappa: 2)
        #expect(relativeError(try guided(x, 300), expected) < 1e-6)
        #expect(model.batches == [4])
        let negativeKappa = try ClassifierFreeGuidance(model: model.callAsFunction, context: context, unconditionalContext: empty, kappa: -0.5)
        let blend = try outputs(model, empty) * 1.5 - outputs(model, context) * 0.5
        #expect(relativeError(try negativeKappa(x, 300), blend) < 1e-6)
    }

    @Test("A negative prompt replaces the unconditional context (eq. 5); other lengths run as two calls")
    func negativePrompt() throws {
        let model = CountingModel()
        let expected = try outputs(model, negative) * -3.5 + outputs(model, context) * 4.5
        model.batches = []
        let guided = try ClassifierFreeGuidance(model: model.callAsFunction, context: context, unconditionalContext: negative, kappa: 4.5)
        #expect(relativeError(try guided(x, 300), expected) < 1e-6)
        #expect(model.batches == [2, 2])
        let withEmpty = try ClassifierFreeGuidance(model: model.callAsFunction, context: context, unconditionalContext: empty, kappa: 4.5)
        #expect(relativeError(try withEmpty(x, 300), expected) > 1e-3)
    }

    @Test("κ per sample guides each sample with its own scale")
    func perSampleKappa() throws {
        let model = CountingModel()
        let guided = try ClassifierFreeGuidance(model: model.callAsFunction, context: context, unconditionalContext: empty,
                                                kappa: Tensor([0.5, 4]))
        let output = try guided(x, 300)
        for (i, kappa) in [Float(0.5), 4].enumerated() {
            let shared = try ClassifierFreeGuidance(model: model.callAsFunction, context: context, unconditionalContext: empty, kappa: kappa)
            let expected = try shared(x, 300).slice(axis: 0, start: i, end: i + 1)
            #expect(relativeError(try output.slice(axis: 0, start: i, end: i + 1), expected) < 1e-6)
        }
    }

    @Test("The batch of 2B equals the two-call path on a real UNet")
    func batchedEqualsTwoCalls() throws {
        let unet = try tinyUNet()
        let x = randn([2, 4, 8, 8], seed: 21), context = randn([2, 3, 12], seed: 22), empty = randn([2, 3, 12], seed: 23)
        let network: ConditionalDenoiser = { x, t, c in try unet(x, timestep: Tensor.full([x.shape[0]], t), context: c) }
        let batched = try ClassifierFreeGuidance(model: network, context: context, unconditionalContext: empty, kappa: 3)(x, 500)
        let conditional = try network(x, 500, context), unconditional = try network(x, 500, empty)
        let twoCalls = try conditional * 3 - unconditional * 2
        #expect(relativeError(batched, twoCalls) < 1e-5)
    }

    @Test("Non-finite κ, a missing unconditional context and mismatched shapes are errors")
    func badInput() throws {
        let model = CountingModel()
        for kappa in [Float.nan, .infinity, -.infinity] {
            do {
                _ = try ClassifierFreeGuidance(model: model.callAsFunction, context: context, unconditionalContext: empty, kappa: kappa)
                Issue.record("κ = \(kappa) was accepted")
            } catch let error as DiffusionError {
                guard case .invalidGuidanceScale = error else { Issue.record("unexpected \(error)"); continue }
            }
        }
        expectError(.invalidGuidanceScale(.infinity)) {
            _ = try ClassifierFreeGuidance(model: model.callAsFunction, context: context, unconditionalContext: empty, kappa: Tensor([1, .infinity]))
        }
        expectError(.invalidArgument(name: "unconditionalContext", reason: "guidance with κ ≠ 1 needs the empty or negative prompt's context")) {
            _ = try ClassifierFreeGuidance(model: model.callAsFunction, context: context, unconditionalContext: nil, kappa: 7.5)
        }
        expectError(.shapeMismatch(what: "ClassifierFreeGuidance", shapes: [[3], [2, 5, 8]], reason: "κ per sample needs one value per context")) {
            _ = try ClassifierFreeGuidance(model: model.callAsFunction, context: context, unconditionalContext: empty, kappa: Tensor([1, 2, 3]))
        }
        expectError(.shapeMismatch(what: "ClassifierFreeGuidance", shapes: [[1, 5, 8], [2, 5, 8]],
                                   reason: "the unconditional context must be [B, L′, D] for a context of [B, L, D]")) {
            _ = try ClassifierFreeGuidance(model: model.callAsFunction, context: context, unconditionalContext: randn([1, 5, 8], seed: 1), kappa: 2)
        }
        let guided = try ClassifierFreeGuidance(model: model.callAsFunction, context: context, unconditionalContext: empty, kappa: 2)
        expectError(.shapeMismatch(what: "ClassifierFreeGuidance", shapes: [[3, 3, 4, 4], [2, 5, 8]],
                                   reason: "the sample's batch differs from the context's")) {
            _ = try guided(randn([3, 3, 4, 4], seed: 1), 10)
        }
        #expect("\(DiffusionError.invalidGuidanceScale(.nan))" == "the guidance scale κ must be a finite number, got nan")
    }
}
