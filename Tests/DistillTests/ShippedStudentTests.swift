import Diffusion
import Distill
import Engine
import Foundation
import Testing

/// The shipped one-step students (Scripts/train_students) draw what the prompts say: on 64 of the
/// world's unseen training-distribution captions the shipped attribute classifier reads the
/// named attributes (Docs/results.md: 85–86 % all named right on 256 captions, shape 82–84 %), and
/// their pictures are not static (HF near the real images' 0.18; per-pixel noise of sd 0.3 is ≈ 1).
@Suite("Shipped students")
struct ShippedStudentTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test(arguments: ["unet", "pixart"])
    func shippedStudentDrawsThePrompts(kind: String) throws {
        let folder = Self.root.appendingPathComponent("Notebooks/checkpoints").path
        let student = try OneStepStudent.load(folder + "/shapes-student-\(kind)-16.h5")
        #expect(student.timestep == 250)
        let captions = try ShapesWorld(side: 16, seed: 0).evaluationImages(64, split: .train).captions
        let images = try student.generate(prompts: captions, generator: RandomGenerator(seed: 7))
        let judge = try AttributeClassifier.load(folder + "/shapes-classifier-16.h5")
        let accuracy = try judge.promptAccuracy(images, prompts: captions)
        #expect(accuracy.allNamed >= 0.7, "\(kind): prompt accuracy \(accuracy.allNamed)")
        #expect(accuracy.perKind[.colour]! >= 0.9, "\(kind): colour \(accuracy.perKind[.colour]!)")
        let hf = try meanAbsoluteLaplacian(images)
        #expect(hf < 0.35, "\(kind): HF \(hf)")
    }
}
