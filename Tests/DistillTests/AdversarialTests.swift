import Diffusion
import Distill
import Engine
import Foundation
import Models
import Testing

@Suite(.serialized) struct AdversarialTests {
    @Test("the projection discriminator: logit = w·h + ⟨h, E c⟩, so it is affine in the caption's states")
    func projection() throws {
        let d = try Initialization.withSeed(7) { ProjectionDiscriminator(width: 4, contextWidth: 6) }
        let x = try Tensor.randn([3, 3, 8, 8], generator: RandomGenerator(seed: 1))
        let c = try Tensor.randn([3, 6], generator: RandomGenerator(seed: 2))
        let zero = Tensor.zeros([3, 6])
        let (atC, atTwoC, atZero) = try noGrad { (try d(x, text: c), try d(x, text: c * 2), try d(x, text: zero)) }
        #expect(atC.shape == [3])
        // D(x, 2c) − D(x, c) = D(x, c) − D(x, 0), and the caption moves the logit at all.
        #expect(try ((atTwoC - atC) - (atC - atZero)).abs().max().item() < 1e-5)
        #expect(try (atC - atZero).abs().max().item() > 1e-4)
        // Wrong shapes are an error naming the discriminator, not a crash.
        #expect(throws: (any Error).self) { _ = try d(x, text: Tensor.zeros([3, 5])) }
        #expect(throws: (any Error).self) { _ = try d(Tensor.zeros([3, 1, 8, 8]), text: c) }
    }

    @Test("the adversarial term: weight 0 changes nothing, a weight reaches the student, the discriminator learns, the run resumes exactly")
    func adversarialTerm() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let teacher = try tinyTeacher(folder: folder)
        let world = try ShapesWorld(side: 8)
        var options = try tinyOptions()
        options.batchSize = 4
        let plain = try DistillTrainer(teacher: teacher, data: world, options: options)
        options.adversarial = AdversarialTerm(weight: 0, learningRate: 1e-2, width: 8)
        let silent = try DistillTrainer(teacher: teacher, data: world, options: options)
        options.adversarial!.weight = 0.5
        let adversarial = try DistillTrainer(teacher: teacher, data: world, options: options)
        var dLoss: [Double] = []
        for _ in 0..<6 {
            let a = try plain.trainStep(), b = try silent.trainStep(), c = try adversarial.trainStep()
            #expect(a["gan_loss"] == nil && b["gan_loss"] != nil && c["d_loss"] != nil && c["d_real"] != nil && c["d_fake"] != nil)
            dLoss.append(c["d_loss"]!)
        }
        let weights = { (t: DistillTrainer) in t.student.network.namedParameters().flatMap(\.tensor.scalars) }
        // With weight 0 the discriminator trains but the student is the plain run's, bit for bit.
        #expect(weights(plain) == weights(silent))
        #expect(weights(plain) != weights(adversarial))
        // Real shapes against an untrained student's pictures: the discriminator's loss falls below log 4 (chance).
        #expect(dLoss.last! < log(4.0) && dLoss.last! < dLoss.first!, "\(dLoss)")
        // Exact resume, with diffusion-GAN noise drawing from the run's generator.
        options.adversarial!.maxNoise = 0.5
        let schedule = TrainingSchedule(logEvery: 1, evalEvery: 0, checkpointEvery: 2, checkpointPath: folder + "/run.h5")
        let (straight, resumed) = try expectExactResume(teacher, world, options, schedule: schedule, steps: 4, stopAt: 2, folder: folder)
        #expect(straight.discriminator!.namedParameters().flatMap(\.tensor.scalars) == resumed.discriminator!.namedParameters().flatMap(\.tensor.scalars))
        // A run saved without the term does not resume with it; bad settings are refused.
        var without = options
        without.adversarial = nil
        try runTraining(DistillTrainer(teacher: teacher, data: world, options: without), steps: 1,
                        schedule: TrainingSchedule(logEvery: 1, checkpointEvery: 1, checkpointPath: folder + "/plain.h5"))
        #expect(throws: (any Error).self) { _ = try DistillTrainer.resume(from: folder + "/plain.h5", teacher: teacher, data: world, options: options) }
        for bad in [AdversarialTerm(weight: -1), AdversarialTerm(learningRate: 0), AdversarialTerm(maxNoise: 1.5), AdversarialTerm(width: 0)] {
            var o = options
            o.adversarial = bad
            #expect(throws: (any Error).self) { _ = try DistillTrainer(teacher: teacher, data: world, options: o) }
        }
    }
}
