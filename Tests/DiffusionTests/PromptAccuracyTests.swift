import Diffusion
import Engine
import Foundation
import Testing

/// Prompt accuracy (the attribute classifier reading what each prompt names) validated as FD was:
/// real images with their own captions score near 100 %, with another image's caption near chance;
/// and the mean |Laplacian| against its analytic value on noise.
@Suite struct PromptAccuracyTests {
    static let checkpoints = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Notebooks/checkpoints")

    @Test("counts each named attribute; prompts naming nothing count for neither")
    func counting() throws {
        let a = ShapeAttributes(shape: .circle, colour: .red, size: .small, position: .left, background: .white)
        var b = a
        b.shape = .square
        let accuracy = try promptAccuracy(predicted: [a, b, a, b],
                                          prompts: ["a red circle", "a red circle", "a photo of a shape", "a small shape on a white background"])
        #expect(accuracy.perKind[.shape] == 0.5)           // 1 of the 2 prompts naming a shape
        #expect(accuracy.perKind[.colour] == 1)
        #expect(accuracy.perKind[.size] == 1 && accuracy.perKind[.background] == 1)
        #expect(accuracy.perKind[.position]!.isNaN)        // no prompt names a position
        #expect(accuracy.imagesNamingAny == 3)
        #expect(abs(accuracy.allNamed - 2.0 / 3) < 1e-12)  // the red square is wrong
        #expect(throws: DiffusionError.self) { try promptAccuracy(predicted: [a], prompts: []) }
    }

    @Test("real images: ≥ 99 % with their own captions, near chance with shuffled ones (seen and held-out splits)")
    func realImages() throws {
        let classifier = try AttributeClassifier.load(Self.checkpoints.appendingPathComponent("shapes-classifier-16.h5").path)
        let world = try ShapesWorld(side: 16)
        for split in [ShapesWorld.Split.train, .test] {
            let batch = try world.batch(256, split: split, start: SampleEvaluator.realStart)
            let own = try classifier.promptAccuracy(batch.images, prompts: batch.captions)
            #expect(own.allNamed >= 0.99, "\(split): \(own)")
            // Another image's caption (rotated by 7): every named attribute must match by chance.
            let shuffled = Array(batch.captions[7...] + batch.captions[..<7])
            let chance = try classifier.promptAccuracy(batch.images, prompts: shuffled)
            #expect(chance.perKind[.shape]! < 0.4 && chance.perKind[.colour]! < 0.35, "\(split): \(chance)")  // chance 20 %, 12.5 %
            #expect(chance.allNamed < 0.35, "\(split): \(chance)")
        }
    }

    @Test("mean |Laplacian|: 0 on flat images, √20·σ·√(2/π) on noise")
    func laplacian() throws {
        #expect(try meanAbsoluteLaplacian(Tensor.full([2, 3, 8, 8], 0.3)) < 1e-7)
        let noise = try Tensor.randn([8, 3, 32, 32], generator: RandomGenerator(seed: 3)) * 0.2
        let expected = 20.0.squareRoot() * 0.2 * (2 / Double.pi).squareRoot()   // 0.714
        let measured = try meanAbsoluteLaplacian(noise)
        #expect(abs(measured - expected) < 0.03, "measured \(measured), expected \(expected)")
        #expect(throws: DiffusionError.self) { try meanAbsoluteLaplacian(Tensor.zeros([2, 3, 2, 2])) }
    }
}
